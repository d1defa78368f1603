// Starting the test identity provider (idp.ts) as a process, in the root namespace or in a
// test namespace, with a signing key the test holds (so a test can mint tokens with the
// provider's real key and tell the checks on claims apart from the check on the signature).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { Namespace, TrackedProcess } from '../netns/index.js';
import { waitUntil } from '../netns/wait.js';

/** IdpKeys are the provider's signing key pair. */
export interface IdpKeys {
  kid: string;
  privateJwk: JWK;
  privateKey: CryptoKey;
}

/** idpKeys makes an RS256 key pair for the provider. */
export async function idpKeys(): Promise<IdpKeys> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  return { kid: 'test-key-1', privateJwk, privateKey };
}

/** idpArgv is the program's argv; it writes its config next to dir. */
export function idpArgv(
  dir: string,
  keys: IdpKeys,
  o: { issuer: string; host: string; port: number; clientSecret: string; redirectUri: string },
): string[] {
  const config = join(dir, 'idp-config.json');
  writeFileSync(
    config,
    JSON.stringify({ jwks: { keys: [keys.privateJwk] }, clientSecret: o.clientSecret, redirectUri: o.redirectUri }),
    { mode: 0o600 },
  );
  const here = dirname(fileURLToPath(import.meta.url));
  return [process.execPath, join(here, 'idp.js'), o.issuer, o.host, String(o.port), config];
}

/** startIdpHere runs the provider in this namespace and resolves once it listens. */
export async function startIdpHere(argv: string[]): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil('the identity provider listens', () => (out.includes('idp ready') ? true : undefined), 15_000, 50);
  return {
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** startIdpIn runs the provider inside ns (a tracked process the topology stops). */
export async function startIdpIn(ns: Namespace, argv: string[], url: string): Promise<TrackedProcess> {
  const proc = ns.spawn(argv, { name: 'idp' });
  const answers = async (): Promise<true | undefined> =>
    (await ns.exec(['curl', '-sf', `${url}/.well-known/openid-configuration`], { allowFailure: true, timeoutMs: 3000 }))
      .code === 0
      ? true
      : undefined;
  await waitUntil('the identity provider answers', answers, 20_000, 200);
  return proc;
}

/** freePort asks the kernel for a free TCP port on host. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
