// An admin's day with Warren, following docs/coordinator.md with the real commands: a coordinator;
// a laptop (tag dev, joined in one step with `warren up --coordinator`), a server (tag server, enrolled with a gated key) and an exit node (tag exit,
// opted in with --serve-exit-node), each a helper in its own namespace; and a printer on a LAN
// behind the exit node. The admin approves the server by name, tries a draft policy with a
// mistyped identity (a warning with a suggestion; --strict refuses it), dry-runs the right one,
// applies it (laptop to server on tcp/22 and ICMP, a route grant of the printer's LAN to the
// laptop and no policy to the exit node), and then checks what each system can reach, what `warren why`, `warren
// exit-node` and `warren status` say, revokes the server and reads the audit log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Status } from '../src-shared/wire/status.js';
import {
  Topology,
  describeE2E,
  ping,
  waitForPing,
  waitUntil,
  warrenCli,
  type Namespace,
  type TrackedProcess,
  type Warren,
} from './netns/index.js';
import { enrolAndStart, startCoordinator, type Coordinator, type Enrolled } from './netns/coordinated.js';
import { stopDetached } from './netns/detached.js';
import { nodeScript } from './netns/node-script.js';
import { readProfile } from '../helper/src/config/load.js';

const COORD_IP = '192.0.2.100';
const LAN = '198.51.100.0/24';
const EXIT_LAN_IP = '198.51.100.1';
const PRINTER = '198.51.100.10';

const POLICY = {
  Tags: ['dev', 'server', 'exit'],
  Policies: [
    {
      Name: 'laptop to server: ssh and ping',
      Senders: ['tag:dev'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'tcp', Ports: '22' }, { Protocol: 'icmp' }],
    },
  ],
  Routes: [{ ExitNode: 'tag:exit', Subnets: [LAN], Senders: ['tag:dev'] }],
};

/** tcpConnects says whether ns can open a TCP connection to host:port within timeoutMs. */
async function tcpConnects(ns: Namespace, host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  const r = await ns.exec([...nodeScript('tcp-probe'), 'try', host, String(port), String(timeoutMs)], {
    allowFailure: true,
    timeoutMs: timeoutMs + 10_000,
  });
  return r.code === 0;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** typoOf changes identity's last character to another Crockford base32 digit, so that it names
 * none of the issued identities: the slip an admin makes copying one by hand. */
function typoOf(identity: string, issued: string[]): string {
  for (const c of '0123456789ABCDEFGHJKMNPQRSTVWXYZ') {
    const typo = identity.slice(0, 4) + c;
    if (typo !== identity && !issued.includes(typo)) return typo;
  }
  throw new Error(`no typo of ${identity} is free`);
}

describeE2E(
  "an admin's day: enrol, approve by name, policy and route grant, exit node, revoke, audit",
  { warren: true, binaries: ['ping', 'nft', 'curl'] },
  { timeout: 180_000 },
  () => {
    let topo: Topology;
    let coord: Coordinator;
    let printer: Namespace;
    const ns: Record<'laptop' | 'server' | 'exit', Namespace | undefined> = {
      laptop: undefined,
      server: undefined,
      exit: undefined,
    };
    /** laptop joins in one step with `warren up --coordinator`, which starts its helper detached. */
    let laptop: { w: Pick<Warren, 'socket' | 'status'>; vip: string };
    const laptopState = (): string => topo.file('laptop-state');
    let server: Enrolled;
    let exit: Enrolled;
    const ids: Record<string, string> = {};
    const services: TrackedProcess[] = [];

    const identityOf = async (name: string): Promise<string> =>
      (JSON.parse(await coord.cli(['systems', 'show', name, '--json'])) as { identity: string }).identity;

    /** joinWithUp runs `warren up --coordinator URL --key KEY` for name, as README's quick start
     * says, and waits (as the command does) until it is connected. */
    async function joinWithUp(n: Namespace, name: string, tags: string): Promise<typeof laptop> {
      const key = (JSON.parse(await coord.cli(['keys', 'create', '--tags', tags, '--json'])) as { key: string }).key;
      const coordinatorKey = (JSON.parse(await coord.cli(['key', '--json'])) as { publicKey: string }).publicKey;
      const profile = topo.file(`${name}-etc/${name}.profile`);
      const socket = topo.file(`${name}.sock`);
      const r = await warrenCli(
        n,
        [
          ...['up', '--coordinator', coord.url, '--key', key, '--coordinator-key', coordinatorKey],
          ...['--adapter', topo.ifname('j'), '--hostname', name, '--port', '51820', '--timeout', '60'],
          ...['--profile', profile, '--state-dir', laptopState(), '--socket', socket],
        ],
        { allowFailure: true, timeoutMs: 90_000 },
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /connected: /);
      const status = async (): Promise<Status> => {
        const st = await warrenCli(n, ['status', '--json', '--socket', socket]);
        if (st.code !== 0) throw new Error(`warren status exit ${st.code}: ${st.stderr.trim()}`);
        return JSON.parse(st.stdout) as Status;
      };
      return { w: { socket, status }, vip: readProfile(profile).profile.virtualAddress };
    }

    before(async () => {
      topo = Topology.create();
      const sw = await topo.addSwitch('sw');
      const coNs = await topo.addNamespace('adm-co');
      await topo.attach(coNs, sw, `${COORD_IP}/24`);
      const ips = { laptop: '192.0.2.1', server: '192.0.2.2', exit: '192.0.2.10' };
      for (const name of ['laptop', 'server', 'exit'] as const) {
        ns[name] = await topo.addNamespace(`adm-${name.slice(0, 3)}`);
        await topo.attach(ns[name], sw, `${ips[name]}/24`);
      }
      printer = await topo.addNamespace('adm-prn');
      await topo.link(ns.exit!, printer, `${EXIT_LAN_IP}/24`, `${PRINTER}/24`);
      // The LAN's router is the exit node: the printer sends everything else there.
      await printer.exec(['ip', 'route', 'add', 'default', 'via', EXIT_LAN_IP]);
      const spooler = printer.spawn([...nodeScript('tcp-probe'), 'serve', PRINTER, '9100'], { name: 'printer-9100' });
      services.push(spooler);
      await spooler.waitFor(/listening/, 10_000);
      coord = await startCoordinator(coNs, COORD_IP);
    });
    after(async () => {
      await Promise.all(services.map((p) => p.stop(500)));
      // `warren up` started the laptop's helper detached: the topology does not track it.
      if (topo) await stopDetached(laptopState());
      await coord?.stop();
      await topo?.destroy();
    });

    test('enrol with tagged keys; the gated server waits, says how to approve it, and is approved by name', async () => {
      laptop = await joinWithUp(ns.laptop!, 'laptop', 'dev');
      exit = await enrolAndStart(coord, ns.exit!, 'exit', 'exit', ['--serve-exit-node']);
      server = await enrolAndStart(coord, ns.server!, 'server', 'server', [], ['--approval', 'gated']);
      for (const name of ['laptop', 'exit', 'server']) ids[name] = await identityOf(name);
      const sid = ids.server!;
      assert.match(server.enrolOutput, new RegExp(`Enrolled as ${sid} \\(name server, sys-[^)]+\\)`));
      assert.match(
        server.enrolOutput,
        new RegExp(
          `waits for approval: an administrator runs \`warren-coordinator systems approve ${sid}\` \\(or approve server, its name there\\)`,
        ),
      );
      assert.match(exit.enrolOutput, /Exit node allowed/);

      const pending = await warrenCli(ns.server!, ['status', '--socket', server.w.socket]);
      assert.match(
        pending.stdout,
        new RegExp(
          `Problem: +waiting for an admin to approve this system: .*\`warren-coordinator systems approve ${sid}\``,
        ),
      );
      assert.match(await coord.cli(['systems', 'list']), new RegExp(`${sid}\\s+server\\s.*\\bpending\\b`));
      assert.match(await coord.cli(['systems', 'show', 'server']), /state: {6}pending/);

      assert.equal(await coord.cli(['systems', 'approve', 'server']), `${sid} (server) is active\n`);
      await waitUntil(
        'the server connected after approval',
        async () => ((await server.w.status()).coordinator?.condition === 'connected' ? true : undefined),
        15_000,
      );
    });

    test('a draft naming the laptop by a mistyped identity: a warning with the right one, --strict refuses; the dry run lists the new access', async () => {
      const lid = ids.laptop!;
      const typo = typoOf(lid, Object.values(ids));
      const draft = {
        ...POLICY,
        Policies: [{ ...POLICY.Policies[0]!, Senders: [typo] }],
      };
      const file = topo.writeFile('draft.json', JSON.stringify(draft, null, 2));
      const tested = await coord.run(['policy', 'test', file]);
      assert.equal(tested.code, 0, tested.stderr);
      assert.match(
        tested.stderr,
        new RegExp(
          `warning: Policies\\[0\\]\\.Senders\\[0\\]: no enrolled system has the identity "${typo}" \\(did you mean "${lid}"\\?\\)`,
        ),
      );
      const strict = await coord.run(['policy', 'apply', file, '--strict']);
      assert.equal(strict.code, 1);
      assert.match(strict.stderr, /refused \(--strict: names that match nothing\); the previous policy stays in force/);

      const right = await coord.run(['policy', 'test', topo.writeFile('right.json', JSON.stringify(POLICY))]);
      assert.equal(right.code, 0, right.stderr);
      assert.equal(right.stderr, '', 'the right file has no warnings');
      assert.match(right.stdout, new RegExp(`^\\+ laptop \\(${lid}\\) → server \\(${ids.server}\\): .*tcp/22`, 'm'));
      assert.match(right.stdout, new RegExp(`^\\+ route laptop \\(${lid}\\) via ${ids.exit}: ${esc(LAN)}`, 'm'));
    });

    test('the policy file opens laptop to server on tcp/22 and ICMP only', async () => {
      await coord.applyPolicy(POLICY);
      services.push(ns.server!.spawn([...nodeScript('tcp-probe'), 'serve', '0.0.0.0', '22'], { name: 'server-22' }));
      services.push(
        ns.server!.spawn([...nodeScript('tcp-probe'), 'serve', '0.0.0.0', '8080'], { name: 'server-8080' }),
      );
      await waitForPing(ns.laptop!, server.vip, 20_000);
      await waitUntil(
        'laptop → server tcp/22',
        async () => ((await tcpConnects(ns.laptop!, server.vip, 22)) ? true : undefined),
        10_000,
      );
      assert.equal(await tcpConnects(ns.laptop!, server.vip, 8080), false, 'tcp/8080 is not in the policy');
    });

    test('the route grant alone lets the laptop reach the printer; the exit node itself stays closed', async () => {
      const eid = ids.exit!;
      await waitUntil(
        'the exit node serves the LAN',
        async () => ((await exit.w.status()).providesRoutes?.[0]?.cidr === LAN ? true : undefined),
        15_000,
      );
      await waitForPing(ns.laptop!, PRINTER, 20_000);
      assert.equal(await tcpConnects(ns.laptop!, PRINTER, 9100), true, 'the laptop reaches the printer on 9100');
      // No policy names the laptop and the exit node: its own address is closed to the laptop.
      services.push(ns.exit!.spawn([...nodeScript('tcp-probe'), 'serve', '0.0.0.0', '2222'], { name: 'exit-2222' }));
      assert.equal(await tcpConnects(ns.laptop!, exit.vip, 2222), false, "the exit node's own port stays closed");
      assert.equal((await ping(ns.laptop!, exit.vip, { count: 2, interval: 0.2 })).received, 0);

      const why = await warrenCli(ns.laptop!, ['why', PRINTER, '--socket', laptop.w.socket]);
      assert.equal(why.code, 0, why.stderr);
      assert.match(why.stdout, new RegExp(`reached through exit node ${eid} \\(exit\\) by route grant ${esc(LAN)}`));
      const list = await warrenCli(ns.laptop!, ['exit-node', 'list', '--socket', laptop.w.socket]);
      assert.match(
        list.stdout,
        new RegExp(`^${eid} \\(exit\\)  ${esc(LAN)}  in use; usable by the coordinator's route grant`, 'm'),
      );
    });

    test('the server, without a grant, reaches neither the LAN nor the printer', async () => {
      const s = await server.w.status();
      assert.equal(
        s.peers.some((p) => p.exitNodeFor.length > 0),
        false,
        'no exit route is offered to it',
      );
      assert.ok(!s.peers.some((p) => p.identity === ids.exit), 'the exit node is not even its peer');
      const list = await warrenCli(ns.server!, ['exit-node', 'list', '--socket', server.w.socket]);
      assert.match(
        list.stdout,
        /^no exit nodes: with a coordinator, no Routes grant in its policy file names this system/,
      );
      assert.doesNotMatch((await ns.server!.exec(['ip', 'route', 'show', LAN])).stdout, /dev/, 'no route to the LAN');
      // Routing the LAN into the tunnel by hand gets nowhere: no peer's allowed IPs cover it.
      await ns.server!.exec(['ip', 'route', 'add', LAN, 'dev', server.adapter]);
      const before = s.drops['tun-no-peer'] ?? 0;
      assert.equal((await ping(ns.server!, PRINTER, { count: 2, interval: 0.2 })).received, 0);
      assert.equal(await tcpConnects(ns.server!, PRINTER, 9100, 1000), false);
      assert.ok(((await server.w.status()).drops['tun-no-peer'] ?? 0) >= before + 2, 'dropped at the sender, counted');
    });

    test('exit-node use takes the name as the list shows it; an unknown name lists the exit nodes', async () => {
      const eid = ids.exit!;
      const sock = ['--socket', laptop.w.socket];
      const off = await warrenCli(ns.laptop!, ['exit-node', 'use', 'exit', 'off', ...sock]);
      assert.equal(off.code, 0, off.stderr);
      assert.match(off.stdout, new RegExp(`^${eid} \\(exit\\)  ${esc(LAN)}  off`));
      assert.equal(await tcpConnects(ns.laptop!, PRINTER, 9100, 1000), false, 'switched off, the LAN is out of reach');
      const unknown = await warrenCli(ns.laptop!, ['exit-node', 'use', 'printer', 'on', ...sock]);
      assert.notEqual(unknown.code, 0);
      assert.match(
        unknown.stderr,
        new RegExp(`no exit node "printer" \\(identity or name\\): the exit nodes here are ${eid} \\(exit\\)`),
      );
      const on = await warrenCli(ns.laptop!, ['exit-node', 'use', 'EXIT', 'on', ...sock]);
      assert.match(on.stdout, /in use/, on.stderr);
      await waitForPing(ns.laptop!, PRINTER, 10_000);
    });

    test("the printer cannot start traffic into the overlay; the exit node's status counts it by reason", async () => {
      assert.equal((await ping(printer, laptop.vip, { count: 3, interval: 0.2 })).received, 0);
      const s = await waitUntil(
        'the unsolicited drops in status',
        async (): Promise<Status | undefined> => {
          const st = await exit.w.status();
          return (st.drops['unsolicited-from-subnet'] ?? 0) >= 3 ? st : undefined;
        },
        10_000,
      );
      assert.ok((s.unsolicitedFromSubnets ?? 0) >= 3);
      const human = await warrenCli(ns.exit!, ['status', '--socket', exit.w.socket]);
      assert.match(human.stdout, /Dropped packets: .*unsolicited-from-subnet \d+/);
    });

    test('systems list shows online systems as seen now, enrolled by key (no owner); systems show takes a name; unknown names are refused', async () => {
      const before = Date.now();
      const table = await coord.cli(['systems', 'list']);
      for (const name of ['laptop', 'server', 'exit'])
        assert.match(
          table,
          new RegExp(`${ids[name]}\\s+${name}\\s.*\\bactive\\s+yes\\s+\\S+\\s+-\\s+now\\s+sys-`),
          table,
        );
      const shown = await coord.cli(['systems', 'show', 'laptop']);
      assert.match(shown, new RegExp(`identity: {3}${ids.laptop}`));
      assert.match(shown, /last seen: {2}now \(online\)/);
      const json = JSON.parse(await coord.cli(['systems', 'show', 'LAPTOP', '--json'])) as { lastSeen: number };
      assert.ok(json.lastSeen >= before - 1000, `lastSeen ${json.lastSeen} is the time of the answer`);
      const unknown = await coord.run(['systems', 'approve', 'printer']);
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /not-found: no system has the id, identity or name "printer"; see warren-coordinator systems list/,
      );
      // A name that is also another system's identity names two systems: refused, both listed.
      const clash = ids.laptop!.toLowerCase();
      await coord.cli(['systems', 'rename', 'exit', clash]);
      const ambiguous = await coord.run(['systems', 'show', clash]);
      assert.equal(ambiguous.code, 1);
      assert.match(
        ambiguous.stderr,
        new RegExp(`conflict: "${clash}" names more than one system: .*${ids.laptop} \\(laptop, active\\)`),
      );
      assert.match(
        ambiguous.stderr,
        new RegExp(`${ids.exit} \\(${clash}, active\\).*give the identity or system id instead`),
      );
      await coord.cli(['systems', 'rename', ids.exit!, 'exit']);
    });

    test('a system revoked by name disappears from its peers’ maps', async () => {
      const sid = ids.server!;
      assert.equal(await coord.cli(['systems', 'revoke', 'server']), `${sid} (server) is revoked\n`);
      await waitUntil(
        "the server leaves the laptop's peers",
        async () => ((await laptop.w.status()).peers.some((p) => p.identity === sid) ? undefined : true),
        10_000,
      );
      await waitUntil(
        'the server knows it was revoked',
        async () => ((await server.w.status()).coordinator?.condition === 'revoked' ? true : undefined),
        10_000,
      );
      assert.match(await coord.cli(['systems', 'show', 'server']), /state: {6}revoked/);
      assert.equal((await ping(ns.laptop!, server.vip, { count: 2, interval: 0.2 })).received, 0);
    });

    test('the audit log shows each admin action', async () => {
      type Entry = { actor: string; action: string; target: string; outcome: string; reason: string | null };
      const entries = JSON.parse(await coord.cli(['audit', '--json', '--actor', 'admin'])) as Entry[];
      const seen = entries.map((e) => `${e.action} ${e.target} ${e.outcome}${e.reason ? `:${e.reason}` : ''}`);
      assert.equal(seen.filter((s) => /^keys\.create k[0-9a-f]+ ok$/.test(s)).length, 3, seen.join('\n'));
      for (const want of [
        `systems.approve ${ids.server} ok`,
        'policy.apply policy refused:policy-invalid',
        'policy.apply policy ok',
        'systems.approve printer refused:not-found',
        `systems.revoke ${ids.server} ok`,
      ])
        assert.ok(seen.includes(want), `${want} is not in the audit log:\n${seen.join('\n')}`);
      const enrolled = JSON.parse(await coord.cli(['audit', '--json', '--action', 'enrol'])) as Entry[];
      assert.deepEqual(enrolled.map((e) => e.actor).sort(), Object.values(ids).sort(), 'one enrol entry per system');
    });
  },
);
