// Proxies: A's egress proxy lets curl reach what Egress allows (by overlay name, and by
// IP through a CIDR entry) and refuses the rest with 403, an explicit deny beating a wildcard
// allow; every decision is logged at -v 2 without the URL's path; `warren exec` sets the proxy
// variables; B publishes a localhost-only service on its virtual address, reachable only on
// ports policy allows, and logs each accepted connection.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  startWarren,
  waitForPing,
  type Namespace,
  type Warren,
} from './netns/index.js';
import { warrenCli } from './netns/warren.js';

const A = '100.64.0.1';
const B = '100.64.0.2';

// httpServer serves a fixed text on host:port inside ns.
function httpServer(ns: Namespace, host: string, port: number, text: string) {
  const js = `require('http').createServer((q, r) => r.end(${JSON.stringify(text)})).listen(${port}, ${JSON.stringify(host)}, () => console.log('listening'))`;
  return ns.spawn([process.execPath, '-e', js], { name: `http-${port}` });
}

describeE2E('egress and ingress proxies', { warren: true, binaries: ['curl'] }, { timeout: 120_000 }, () => {
  let topo: Topology;
  let a: Namespace;
  let b: Namespace;
  let wa: Warren;
  let wb: Warren;
  const ka = genKeyPair();
  const kb = genKeyPair();
  const policy = [
    {
      Name: 'dev to server',
      Senders: ['tag:dev'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'tcp', Ports: '8080,3000' }, { Protocol: 'icmp' }],
    },
  ];

  before(async () => {
    topo = Topology.create();
    const l = await pairLayout(topo);
    a = l.a;
    b = l.b;
    wa = await startWarren(
      a,
      {
        PrivateKey: ka.privateKey,
        ListenPort: 51820,
        VirtualAddress: A,
        Adapter: { Name: topo.ifname('w') },
        Tags: ['dev'],
        Policies: policy,
        Egress: { Allow: ['**.warren.internal', '100.64.0.0/30'], Deny: ['x.warren.internal', `${A}/32`] },
        Peers: [
          {
            Name: 'b',
            PublicKey: kb.publicKey,
            Endpoint: `${l.bIp}:51820`,
            AllowedIPs: [`${B}/32`],
            Tags: ['server'],
            DnsNames: ['b', 'x'],
          },
        ],
      },
      { name: 'warren-a' },
    );
    wb = await startWarren(
      b,
      {
        PrivateKey: kb.privateKey,
        ListenPort: 51820,
        VirtualAddress: B,
        Adapter: { Name: topo.ifname('w') },
        Tags: ['server'],
        Policies: policy,
        Ingress: [{ ListenPort: 3000 }, { ListenPort: 3001 }],
        Peers: [
          { Name: 'a', PublicKey: ka.publicKey, Endpoint: `${l.aIp}:51820`, AllowedIPs: [`${A}/32`], Tags: ['dev'] },
        ],
      },
      { name: 'warren-b' },
    );
    for (const [host, port, text] of [
      [B, 8080, 'hello from b'],
      ['127.0.0.1', 3000, 'local service 3000'],
      ['127.0.0.1', 3001, 'local service 3001'],
    ] as const) {
      await httpServer(b, host, port, text).waitFor(/listening/, 10_000);
    }
    await waitForPing(a, B);
  });
  after(async () => {
    await topo?.destroy();
  });

  const curl = (args: string[]) => a.exec(['curl', '-sS', '--max-time', '3', ...args], { allowFailure: true });

  test('the proxy reaches an allowed overlay name and refuses others with 403; deny beats allow', async () => {
    const ok = await curl(['-x', 'http://127.0.0.1:3128', 'http://b.warren.internal:8080/']);
    assert.equal(ok.stdout, 'hello from b', ok.stderr);
    const denied = await curl([
      '-x',
      'http://127.0.0.1:3128',
      '-w',
      '%{http_code}',
      '-o',
      '/dev/null',
      'http://x.warren.internal:8080/',
    ]);
    assert.equal(denied.stdout, '403');
    const notAllowed = await curl([
      '-x',
      'http://127.0.0.1:3128',
      '-w',
      '%{http_code}',
      '-o',
      '/dev/null',
      'http://127.0.0.1:8080/',
    ]);
    assert.equal(notAllowed.stdout, '403', 'an IP that no Allow entry names is refused');
    const tunnel = await curl(['-p', '-x', 'http://127.0.0.1:3128', 'http://b.warren.internal:8080/']);
    assert.equal(tunnel.stdout, 'hello from b', `CONNECT tunnel: ${tunnel.stderr}`);
  });

  test('an IP inside an allowed CIDR is reached, plainly and through CONNECT; a denied IP in it is not', async () => {
    const plain = await curl(['-x', 'http://127.0.0.1:3128', `http://${B}:8080/`]);
    assert.equal(plain.stdout, 'hello from b', plain.stderr);
    const tunnel = await curl(['-p', '-x', 'http://127.0.0.1:3128', `http://${B}:8080/`]);
    assert.equal(tunnel.stdout, 'hello from b', `CONNECT tunnel: ${tunnel.stderr}`);
    const denied = await curl([
      '-x',
      'http://127.0.0.1:3128',
      '-w',
      '%{http_code}',
      '-o',
      '/dev/null',
      `http://${A}:8080/`,
    ]);
    assert.equal(denied.stdout, '403', 'Deny A/32 beats Allow 100.64.0.0/30');
  });

  test('decisions are logged at -v 2, one line each, without the path or query', async () => {
    const r = await curl([
      '-x',
      'http://127.0.0.1:3128',
      '-w',
      '%{http_code}',
      '-o',
      '/dev/null',
      'http://x.warren.internal:8080/private?token=s3cret',
    ]);
    assert.equal(r.stdout, '403');
    const ok = await curl(['-x', 'http://127.0.0.1:3128', 'http://b.warren.internal:8080/private?token=s3cret']);
    assert.equal(ok.stdout, 'hello from b', ok.stderr);
    const log = wa.proc.output();
    assert.match(
      log,
      /VERBOSE egress: 127\.0\.0\.1:\d+ HTTP x\.warren\.internal:8080 refused: denied by Egress\.Deny\[0\] \(x\.warren\.internal\)\n/,
    );
    assert.match(
      log,
      new RegExp(
        `VERBOSE egress: 127\\.0\\.0\\.1:\\d+ HTTP b\\.warren\\.internal:8080 allowed: allowed by Egress\\.Allow\\[0\\] \\(\\*\\*\\.warren\\.internal\\); connected to ${B.replace(/\./g, '\\.')}:8080\n`,
      ),
    );
    const lines = log.split('\n').filter((l) => l.includes('egress:'));
    for (const l of lines) assert.doesNotMatch(l, /private|token|s3cret/);
  });

  test('warren exec runs a command through the proxy without flags', async () => {
    const r = await warrenCli(a, [
      'exec',
      '--socket',
      wa.socket,
      '--',
      'curl',
      '-sS',
      '--max-time',
      '3',
      'http://b.warren.internal:8080/',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from b');
    const s = await wa.status();
    assert.equal(s.egressProxyPort, 3128);
  });

  test('an ingress-published service is reachable only on ports policy allows', async () => {
    const ok = await curl([`http://${B}:3000/`]);
    assert.equal(ok.stdout, 'local service 3000', ok.stderr);
    assert.match(
      wb.proc.output(),
      new RegExp(
        `VERBOSE ingress: ${A.replace(/\./g, '\\.')}:\\d+ to ${B.replace(/\./g, '\\.')}:3000 accepted: forwarding to 127\\.0\\.0\\.1:3000\n`,
      ),
    );
    // 3001 is published: on B itself (no peer, so no policy in the way) it answers.
    const local = await b.exec(['curl', '-sS', '--max-time', '3', `http://${B}:3001/`], { allowFailure: true });
    assert.equal(local.stdout, 'local service 3001', local.stderr);
    // From A, policy drops the SYN on A's egress: curl times out (28), it is not refused (7).
    const dropsBefore = (await wa.status()).drops['port-not-allowed'] ?? 0;
    const blocked = await curl(['--max-time', '2', `http://${B}:3001/`]);
    assert.equal(blocked.code, 28, `port 3001 is published but no policy allows it: ${blocked.stderr}`);
    const dropsAfter = (await wa.status()).drops['port-not-allowed'] ?? 0;
    assert.ok(dropsAfter > dropsBefore, `A counted the dropped SYNs: ${dropsBefore} -> ${dropsAfter}`);
  });
});
