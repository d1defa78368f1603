// `npm run demo` (scripts/demo.sh) as a reader runs it, without a terminal: it builds the
// coordinated network in namespaces, shows each step and exits 0. The checks look for lines that
// only a step that really worked prints (ping statistics with no loss, the printer's banner read
// over TCP, `warren why` naming the route grant, the approval completing a waiting `warren up`),
// for the screenshots (real PNGs written by this run), and that nothing named wrdemo- is left
// behind: no namespace, link, process or temp directory.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { describeE2E } from './netns/index.js';
import { repoRoot } from './netns/warren.js';

const DEMO_TIMEOUT_MS = 150_000;
const SCREENSHOTS = ['demo-ui.png', 'console-systems.png', 'console-policy.png', 'console-audit.png'];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** runDemo runs `bash scripts/demo.sh` with stdin not a terminal and DEMO_HOLD unset. */
function runDemo(): Promise<Run> {
  const env = { ...process.env };
  delete env.DEMO_HOLD;
  const child = spawn('bash', [join(repoRoot(), 'scripts', 'demo.sh')], {
    cwd: repoRoot(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // SIGTERM: the demo's trap tears everything down before it exits.
    timeout: DEMO_TIMEOUT_MS,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out })));
}

/** step is the demo's output from the `==> ` heading that contains title to the next heading. */
function step(out: string, title: string): string {
  const start = out.indexOf(`==> ${title}`);
  assert.ok(start >= 0, `the demo printed no step "${title}":\n${out.slice(-3000)}`);
  const next = out.indexOf('\n==> ', start + 4);
  return out.slice(start, next < 0 ? undefined : next);
}

function run(cmd: string, args: string[]): Promise<string> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(out)));
}

/** pngSize reads the width and height from a PNG's IHDR, after checking its signature. */
function pngSize(file: string): { width: number; height: number } {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(24);
  try {
    readSync(fd, head, 0, 24, 0);
  } finally {
    closeSync(fd);
  }
  assert.deepEqual([...head.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${file} is a PNG`);
  assert.equal(head.subarray(12, 16).toString('latin1'), 'IHDR', `${file} starts with IHDR`);
  return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
}

describeE2E(
  'npm run demo: the coordinated demo network',
  { warren: true, binaries: ['bash', 'ping', 'nft', 'chromium', 'timeout'] },
  { timeout: DEMO_TIMEOUT_MS + 60_000 },
  () => {
    let r: Run;
    const started = Date.now();

    before(async () => {
      r = await runDemo();
    });

    after(async () => {
      // Should the demo have left anything behind, the checks below have said so; remove it.
      await run('bash', ['-c', `source ${join(repoRoot(), 'scripts', 'demo', 'lib.sh')} && remove_all`]);
    });

    test('the demo exits 0 without a terminal and tears down', () => {
      assert.equal(r.code, 0, `exit ${r.code} (signal ${r.signal}):\n${r.out.slice(-4000)}`);
      assert.match(r.out, /==> done \(set DEMO_HOLD=1/);
      assert.match(r.out, /==> tearing down/);
    });

    test('three systems join with one warren up each; the gated one completes after approval by the admin', () => {
      for (const n of ['laptop', 'exit']) {
        const s = step(r.out, `${n} joins`);
        assert.match(
          s,
          /\$ ip netns exec wrdemo-\w+ env WARREN_STATE_DIR=\S+ WARREN_SOCKET=\S+ WARREN_PROFILE=\S+ warren up --coordinator http:\/\/203\.0\.113\.100:8080 --key wek-/,
        );
        assert.match(
          s,
          new RegExp(`warren up: enrolled as [0-9A-Z]{5} \\(sys-[0-9a-f]+\\), 100\\.[0-9.]+, tags ${n}\\n`),
        );
        assert.match(s, /warren up: connected: [0-9A-Z]{5}, 100\./);
      }
      const waiting = step(r.out, 'server joins');
      const id = /enrolled as ([0-9A-Z]{5}) .*tags server; waiting for approval/.exec(waiting)?.[1];
      assert.ok(id, waiting);
      assert.match(waiting, /waiting for approval: an administrator runs `warren-coordinator systems approve /);
      assert.doesNotMatch(waiting, /warren up: connected/, 'not connected before the approval');
      const approve = step(r.out, 'approving server');
      assert.match(
        approve,
        /\$ ip netns exec wrdemo-coord warren-coordinator systems approve server --data /,
        'by name',
      );
      assert.match(approve, new RegExp(`^    ${id} \\(server\\) is active$`, 'm'));
      assert.match(step(r.out, "server's warren up completes"), new RegExp(`warren up: connected: ${id}, 100\\.`));
    });

    test('the policy is dry-run (the pair and the route grant it adds) and applied', () => {
      const dry = step(r.out, 'dry run first');
      assert.match(dry, /\+ laptop \([0-9A-Z]{5}\) → server \([0-9A-Z]{5}\): tcp\/22,icmp\n/);
      assert.match(dry, /\+ route laptop \([0-9A-Z]{5}\) via [0-9A-Z]{5}: 198\.51\.100\.0\/24\n/);
      assert.match(step(r.out, 'applying it'), /applied \S+policy\.json: 1 policies, 3 tags, 0 DNS records, 1 routes/);
      for (const n of ['laptop', 'server', 'exit'])
        assert.match(
          step(r.out, `warren status on ${n}`),
          /Coordinator: +http:\/\/203\.0\.113\.100:8080 connected, map v\d+/,
        );
      assert.match(step(r.out, 'warren status on exit'), /Exit node for: +198\.51\.100\.0\/24 \(via eth1/);
    });

    test('the laptop reaches the server by name and the printer through the exit node, and why names the grant', () => {
      const byName = step(r.out, 'laptop pings server.warren.internal');
      assert.match(
        byName,
        /--- server\.warren\.internal ping statistics ---\n\s+3 packets transmitted, 3 received, 0% packet loss/,
      );
      const printer = step(r.out, 'laptop pings the printer');
      assert.match(
        printer,
        /--- 198\.51\.100\.10 ping statistics ---\n\s+3 packets transmitted, 3 received, 0% packet loss/,
      );
      // The banner names the address the printer was reached at, which no command line holds.
      assert.match(step(r.out, 'laptop opens TCP 9100'), /^ {4}printer: ready, reached at 198\.51\.100\.10:9100$/m);
      assert.match(
        step(r.out, 'warren why 198.51.100.10 on laptop'),
        /198\.51\.100\.10: reached through exit node [0-9A-Z]{5} \(exit\) by route grant 198\.51\.100\.0\/24/,
      );
    });

    test('the server reaches neither the printer nor the laptop, and why says so', () => {
      const printer = step(r.out, 'server pings the printer');
      assert.match(printer, /198\.51\.100\.10: no route: no grant covers it/);
      assert.doesNotMatch(printer, /bytes from 198\.51\.100\.10/);
      const laptop = step(r.out, 'server pings laptop');
      assert.match(laptop, /2 packets transmitted, 0 received, 100% packet loss/);
      assert.match(
        step(r.out, 'warren why laptop on server'),
        /\(this system starts\): blocked\n\s+no policy names both/,
      );
    });

    test("the coordinator lists the systems and audits the admin's actions", () => {
      const list = step(r.out, "the coordinator's view");
      for (const n of ['laptop', 'server', 'exit'])
        assert.match(list, new RegExp(`\\n +[0-9A-Z]{5} +${n} +100\\.[0-9.]+ +\\S+ +active +yes +${n} `));
      const audit = step(r.out, "the coordinator's audit log");
      assert.match(audit, /admin +203\.0\.113\.100 +systems\.approve +[0-9A-Z]{5} +ok/);
      assert.match(audit, /admin +203\.0\.113\.100 +policy\.apply +policy +ok/);
      assert.match(audit, /enrol +k[0-9a-f]+ +ok +server, pending/);
    });

    test('screenshots: the laptop window and the console pages, real PNGs from this run', () => {
      const consoleStep = step(r.out, 'the web console at');
      assert.match(consoleStep, /logged in; the systems page lists 3 systems/);
      assert.match(consoleStep, /dry run of the draft: The file is valid .*tcp\/22, tcp\/443, icmp/);
      for (const name of SCREENSHOTS) {
        const file = join(repoRoot(), '.artifacts', name);
        assert.ok(existsSync(file), `${file} exists`);
        const st = statSync(file);
        assert.ok(st.mtimeMs >= started - 1000, `${name} was written by this run`);
        assert.ok(st.size > 10_000, `${name} is more than a blank page (${st.size} bytes)`);
        const { width, height } = pngSize(file);
        assert.ok(width >= 1000 && height >= 600, `${name} is ${width}x${height}`);
      }
    });

    test('nothing named wrdemo- is left: namespaces, links, processes, /etc/netns, temp dirs', async () => {
      assert.doesNotMatch(await run('ip', ['netns', 'list']), /wrdemo-/);
      assert.doesNotMatch(await run('ip', ['-o', 'link', 'show']), /wrdemo-/);
      const procs = (await run('ps', ['-eo', 'pid=,args='])).split('\n').filter((l) => l.includes('wrdemo'));
      assert.deepEqual(procs, []);
      assert.deepEqual(
        (existsSync('/etc/netns') ? readdirSync('/etc/netns') : []).filter((d) => d.startsWith('wrdemo-')),
        [],
      );
      assert.deepEqual(
        readdirSync('/tmp').filter((d) => d.startsWith('wrdemo.')),
        [],
      );
    });
  },
);
