// A real OpenID Connect provider for the sign-in tests: the oidc-provider package (a certified
// implementation), with its development login and consent pages, two users and a confidential
// client for the coordinator. Run as a program so it can live in a network namespace:
//   node idp.js ISSUER_URL LISTEN_HOST LISTEN_PORT CONFIG.json
// CONFIG.json: { "jwks": {keys: [private JWK]}, "clientSecret": "...", "redirectUri": "..." }.
// It prints "idp ready" once it listens. A test changes a person at the provider while it runs
// (TEST_CONTROL_PATH, setTestUser in idp-harness.ts): new groups, or the account gone, which
// makes the provider refuse that person's refresh tokens (invalid_grant).
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Provider from 'oidc-provider';

/** TEST_USERS are who can sign in: the login name is the account id (and the ID token's sub). */
export const TEST_USERS: Record<string, { email: string; name: string; groups: string[] }> = {
  alice: { email: 'alice@example.com', name: 'Alice Liddell', groups: ['eng', 'Staff'] },
  bob: { email: 'bob@example.com', name: 'Bob Builder', groups: [] },
};

/** TEST_CLIENT_ID is the coordinator's client id at this provider. */
export const TEST_CLIENT_ID = 'warren-coordinator';

/** TEST_CONTROL_PATH: PUT TEST_CONTROL_PATH/USER with {"groups": [...]} or {"deleted": true}. */
export const TEST_CONTROL_PATH = '/test-control/users/';

/** TestUserChange is the body of a change. */
export interface TestUserChange {
  groups?: string[];
  deleted?: boolean;
}

/** users are this process's people: TEST_USERS as changed by the test since. */
const users = new Map(Object.entries(TEST_USERS).map(([k, v]) => [k, { ...v, groups: [...v.groups] }]));

/** control applies a change to a person; it answers 204, or 404 for an unknown one. */
function control(req: IncomingMessage, res: ServerResponse): void {
  const id = decodeURIComponent((req.url ?? '').slice(TEST_CONTROL_PATH.length));
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => {
    const u = users.get(id);
    if (!u || req.method !== 'PUT') return void res.writeHead(404).end();
    const change = JSON.parse(body) as TestUserChange;
    if (change.groups) u.groups = change.groups;
    if (change.deleted) users.delete(id);
    res.writeHead(204).end();
  });
}

async function main(): Promise<void> {
  const [issuer, host, port, configFile] = process.argv.slice(2);
  if (!issuer || !host || !port || !configFile) throw new Error('usage: idp.js ISSUER HOST PORT CONFIG.json');
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as {
    jwks: { keys: object[] };
    clientSecret: string;
    redirectUri: string;
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: TEST_CLIENT_ID,
        client_secret: cfg.clientSecret,
        redirect_uris: [cfg.redirectUri],
        // refresh_token: the coordinator's token check (coordinator/src/oidc/recheck.ts).
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: cfg.jwks as never,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    // The claims go into the ID token itself, not only the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const u = users.get(id);
      if (!u) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, email: u.email, email_verified: true, name: u.name, groups: u.groups }),
      };
    },
  });
  // Plain http in a test namespace: oidc-provider would otherwise refuse insecure cookies.
  provider.proxy = true;
  const serve = provider.callback();
  const server = createServer((req, res) =>
    req.url?.startsWith(TEST_CONTROL_PATH) ? control(req, res) : serve(req, res),
  );
  server.listen(Number(port), host, () => process.stdout.write('idp ready\n'));
  const stop = (): void => void server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && /idp\.(js|ts)$/.test(process.argv[1])) {
  main().catch((e: unknown) => {
    process.stderr.write(`idp: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
