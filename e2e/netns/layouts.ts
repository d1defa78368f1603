// Ready-made underlays for the scenarios, addressed from the documentation ranges of
// RFC 5737 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) so they never collide with real
// networks.
import type { Namespace, Topology } from './topology.js';

/** PairLayout: two hosts on one veth, a = 192.0.2.1, b = 192.0.2.2. */
export interface PairLayout {
  a: Namespace;
  b: Namespace;
  aIp: string;
  bIp: string;
  aIf: string;
  bIf: string;
}

/** pairLayout builds namespaces `a` and `b` joined by a veth. */
export async function pairLayout(topo: Topology): Promise<PairLayout> {
  const a = await topo.addNamespace('a');
  const b = await topo.addNamespace('b');
  const l = await topo.link(a, b, '192.0.2.1/24', '192.0.2.2/24');
  return { a, b, aIp: '192.0.2.1', bIp: '192.0.2.2', aIf: l.aIf, bIf: l.bIf };
}

/** RoutedLayout: a (198.51.100.2) -- r (198.51.100.1 | 203.0.113.1) -- b (203.0.113.2). */
export interface RoutedLayout {
  a: Namespace;
  r: Namespace;
  b: Namespace;
  aIp: string;
  bIp: string;
  /** rA is the router's address on a's side, rB on b's side. */
  rA: string;
  rB: string;
  aIf: string;
  bIf: string;
}

/** routedLayout builds a, a forwarding router r, and b, with default routes via r. */
export async function routedLayout(topo: Topology): Promise<RoutedLayout> {
  const a = await topo.addNamespace('a');
  const r = await topo.addNamespace('r');
  const b = await topo.addNamespace('b');
  const la = await topo.link(a, r, '198.51.100.2/24', '198.51.100.1/24');
  const lb = await topo.link(b, r, '203.0.113.2/24', '203.0.113.1/24');
  await topo.enableForwarding(r);
  await a.exec(['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
  await b.exec(['ip', 'route', 'add', 'default', 'via', '203.0.113.1']);
  return {
    a,
    r,
    b,
    aIp: '198.51.100.2',
    bIp: '203.0.113.2',
    rA: '198.51.100.1',
    rB: '203.0.113.1',
    aIf: la.aIf,
    bIf: lb.aIf,
  };
}

/** moveAddress gives ns a new address on ifname (old one removed) and restores its default
 * route through gateway: what a laptop sees when it changes networks. The old address goes
 * first because deleting a primary address also deletes the secondaries of its subnet. */
export async function moveAddress(
  ns: Namespace,
  ifname: string,
  oldCidr: string,
  newCidr: string,
  gateway: string,
): Promise<void> {
  await ns.exec(['ip', 'addr', 'del', oldCidr, 'dev', ifname]);
  await ns.exec(['ip', 'addr', 'add', newCidr, 'dev', ifname]);
  await ns.exec(['ip', 'route', 'replace', 'default', 'via', gateway, 'dev', ifname]);
}
