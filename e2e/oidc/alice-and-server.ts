// The token-check scenarios' shared room (oidc-recheck, oidc-autotags): a provider and a
// coordinator that checks tokens every recheckSeconds, a server enrolled with a key (tag
// server), and alice's system enrolled by her `warren login`, each in its own namespace on one
// switch; plus the audit reads those scenarios wait on.
import type { AuditEntry } from '../../src-shared/wire/admin.js';
import { Topology, waitUntil, type Namespace } from '../netns/index.js';
import { enrolAndStart, type Enrolled } from '../netns/coordinated.js';
import { loginAndStart, startOidcLab, type OidcLab } from './login-lab.js';

/** AliceAndServer is the started room; close() stops the lab and removes the namespaces. */
export interface AliceAndServer {
  topo: Topology;
  lab: OidcLab;
  server: Enrolled;
  aliceNs: Namespace;
  /** audit lists the coordinator's audit entries of one action, oldest first. */
  audit(action: string): Promise<AuditEntry[]>;
  /** nth waits (15 s) for the nth audit entry of action. */
  nth(action: string, n: number): Promise<AuditEntry>;
}

/** startAliceAndServer builds the room on `net` (the first three octets of a /24): the
 * coordinator at .100, the server at .10, alice at .1; namespace and switch names start with
 * prefix. The topology is returned through `onTopo` as soon as it exists, so a failed start
 * is still cleaned up by the caller's after(). */
export async function startAliceAndServer(
  prefix: string,
  net: string,
  policy: object,
  recheckSeconds: number,
  onTopo: (t: Topology) => void,
): Promise<AliceAndServer> {
  const topo = Topology.create();
  onTopo(topo);
  const sw = await topo.addSwitch(`${prefix}sw`);
  const lab = await startOidcLab(topo, sw, `${prefix}c`, `${net}.100`, { recheckSeconds });
  let server: Enrolled;
  let aliceNs: Namespace;
  try {
    await lab.c.applyPolicy(policy);
    const serverNs = await topo.addNamespace(`${prefix}s`);
    await topo.attach(serverNs, sw, `${net}.10/24`);
    server = await enrolAndStart(lab.c, serverNs, 'server', 'server');
    aliceNs = await topo.addNamespace(`${prefix}a`);
    await topo.attach(aliceNs, sw, `${net}.1/24`);
    await loginAndStart(lab, topo, aliceNs, 'alice');
  } catch (e) {
    // The caller never sees the lab, so its browsers are closed here.
    await lab.close();
    throw e;
  }
  const audit = async (action: string): Promise<AuditEntry[]> =>
    JSON.parse(await lab.c.cli(['audit', '--action', action, '--json'])) as AuditEntry[];
  const nth = (action: string, n: number): Promise<AuditEntry> =>
    waitUntil(`audit entry ${n} of ${action}`, async () => (await audit(action))[n - 1], 15_000, 300);
  return { topo, lab, server, aliceNs, audit, nth };
}
