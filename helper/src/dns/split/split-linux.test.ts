import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  lstatSync,
  mkdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../../src-shared/lib/log.js';
import type { CommandRunner } from './index.js';
import { addManaged, MARKER, removeManaged } from './resolv-conf.js';
import { applyLinuxSplitDns, recoverLinuxSplitDns } from './split-linux.js';
import { dnsStatePath } from './state.js';

const ORIGINAL = '# from DHCP\nsearch example.com\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0\n';
const ADDR = '100.64.0.1';
const log = createLogger(0, { write: () => 0 });

function sandbox(): { dir: string; conf: string; state: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'warren-dns-'));
  const conf = join(dir, 'resolv.conf');
  writeFileSync(conf, ORIGINAL);
  return { dir, conf, state: join(dir, 'state'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const noResolved = { resolvedRunDir: '/nonexistent/warren-test', sameNetnsAsInit: () => true };
const base = (s: { conf: string; state: string }) => ({
  adapter: 'warren0',
  address: ADDR,
  zone: 'warren.internal',
  stateDir: s.state,
  log,
  resolvConfPath: s.conf,
  ...noResolved,
});

test('addManaged and removeManaged, table-driven', () => {
  const cases: Array<[string, string, string]> = [
    [
      'before the first nameserver',
      ORIGINAL,
      `# from DHCP\nsearch example.com\n${MARKER}\nnameserver ${ADDR}\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0\n`,
    ],
    ['no nameserver: at the end', 'search x\n', `search x\n${MARKER}\nnameserver ${ADDR}\n`],
    ['empty file', '', `${MARKER}\nnameserver ${ADDR}\n`],
    [
      'already managed: not twice',
      `${MARKER}\nnameserver ${ADDR}\nnameserver 192.0.2.53\n`,
      `${MARKER}\nnameserver ${ADDR}\nnameserver 192.0.2.53\n`,
    ],
  ];
  for (const [what, input, want] of cases) {
    const { text } = addManaged(input, ADDR);
    assert.equal(text, want, what);
    assert.equal(
      removeManaged(text, ADDR).text.trimEnd(),
      input.trimEnd().replace(`${MARKER}\nnameserver ${ADDR}\n`, ''),
      `${what}: removal`,
    );
  }
  assert.equal(
    addManaged('nameserver 1.1.1.1\nnameserver 1.0.0.1\nnameserver 8.8.8.8\n', ADDR).warnings.length,
    1,
    'MAXNS warning',
  );
  // another system's similar line stays
  assert.equal(removeManaged('nameserver 100.64.0.10\n', ADDR).removed, 0);
});

test('resolv.conf: apply, then undo restores the file byte for byte', async () => {
  const s = sandbox();
  try {
    const r = await applyLinuxSplitDns(base(s));
    assert.equal(r.kind, 'resolv.conf');
    const text = readFileSync(s.conf, 'utf8');
    assert.match(text, new RegExp(`${MARKER}\nnameserver ${ADDR.replace(/\./g, '\\.')}\nnameserver 192\\.0\\.2\\.53`));
    assert.ok(existsSync(dnsStatePath(s.state)));
    await r.undo();
    await r.undo(); // idempotent
    assert.equal(readFileSync(s.conf, 'utf8'), ORIGINAL);
    assert.ok(!existsSync(dnsStatePath(s.state)));
  } finally {
    s.cleanup();
  }
});

test('resolv.conf: undo after the file was edited removes only our lines', async () => {
  const s = sandbox();
  try {
    const r = await applyLinuxSplitDns(base(s));
    const edited =
      'nameserver 203.0.113.1\n' +
      readFileSync(s.conf, 'utf8').replace('options edns0', 'options edns0 timeout:2') +
      'search more.example\n';
    writeFileSync(s.conf, edited);
    await r.undo();
    assert.equal(
      readFileSync(s.conf, 'utf8'),
      'nameserver 203.0.113.1\n# from DHCP\nsearch example.com\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0 timeout:2\nsearch more.example\n',
    );
  } finally {
    s.cleanup();
  }
});

test('resolv.conf: crash recovery from the state file, also on the next apply', async () => {
  const s = sandbox();
  try {
    await applyLinuxSplitDns(base(s)); // "crash": no undo
    assert.notEqual(readFileSync(s.conf, 'utf8'), ORIGINAL);
    await recoverLinuxSplitDns(s.state, log);
    assert.equal(readFileSync(s.conf, 'utf8'), ORIGINAL);
    assert.ok(!existsSync(dnsStatePath(s.state)));

    await applyLinuxSplitDns(base(s)); // crash again, then a new start applies again
    const again = await applyLinuxSplitDns(base(s));
    assert.equal(readFileSync(s.conf, 'utf8').split(MARKER).length, 2, 'one managed entry, not two');
    await again.undo();
    assert.equal(readFileSync(s.conf, 'utf8'), ORIGINAL);
  } finally {
    s.cleanup();
  }
});

test('resolv.conf: a symlinked file is changed through the link, which stays a link', async () => {
  const s = sandbox();
  try {
    const real = join(s.dir, 'run', 'real-resolv.conf');
    mkdirSync(join(s.dir, 'run'));
    writeFileSync(real, ORIGINAL);
    const link = join(s.dir, 'link.conf');
    symlinkSync(real, link);
    const r = await applyLinuxSplitDns({ ...base(s), resolvConfPath: link });
    assert.equal(r.kind, 'resolv.conf');
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.match(readFileSync(real, 'utf8'), /nameserver 100\.64\.0\.1/);
    await r.undo();
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readFileSync(real, 'utf8'), ORIGINAL);
  } finally {
    s.cleanup();
  }
});

// recorder is a CommandRunner that records calls and answers from a table.
function recorder(fail: (args: string[]) => boolean = () => false): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    run: async (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      const bad = fail(args);
      return { ok: !bad, stdout: '', stderr: bad ? 'Failed to resolve interface' : '', missing: false };
    },
  };
}

test('systemd-resolved: the commands, their undo and crash recovery', async () => {
  const s = sandbox();
  try {
    const { run, calls } = recorder();
    const r = await applyLinuxSplitDns({ ...base(s), run, resolvedRunDir: s.dir });
    assert.equal(r.kind, 'systemd-resolved');
    assert.deepEqual(calls, [
      'resolvectl status',
      'resolvectl dns warren0 100.64.0.1',
      'resolvectl domain warren0 ~warren.internal',
      'resolvectl default-route warren0 false',
    ]);
    assert.equal(readFileSync(s.conf, 'utf8'), ORIGINAL, 'resolv.conf untouched');
    assert.ok(existsSync(dnsStatePath(s.state)));
    await recoverLinuxSplitDns(s.state, log, { run }); // as after a crash
    assert.equal(calls.at(-1), 'resolvectl revert warren0');
    await r.undo();
    assert.equal(calls.at(-1), 'resolvectl revert warren0');
    assert.ok(!existsSync(dnsStatePath(s.state)));
  } finally {
    s.cleanup();
  }
});

test('systemd-resolved: a failing resolvectl reverts and reports none; no resolved or another netns: resolv.conf', async () => {
  const s = sandbox();
  try {
    const failing = recorder((args) => args[0] === 'domain');
    const r = await applyLinuxSplitDns({ ...base(s), run: failing.run, resolvedRunDir: s.dir });
    assert.equal(r.kind, 'none');
    assert.equal(failing.calls.at(-1), 'resolvectl revert warren0');
    assert.ok(!existsSync(dnsStatePath(s.state)));

    const down = recorder((args) => args[0] === 'status');
    const viaFile = await applyLinuxSplitDns({ ...base(s), run: down.run, resolvedRunDir: s.dir });
    assert.equal(viaFile.kind, 'resolv.conf');
    await viaFile.undo();

    const netns = recorder();
    const inNetns = await applyLinuxSplitDns({
      ...base(s),
      run: netns.run,
      resolvedRunDir: s.dir,
      sameNetnsAsInit: () => false,
    });
    assert.equal(inNetns.kind, 'resolv.conf', 'resolved serves the host namespace, not ours');
    assert.deepEqual(netns.calls, []);
    await inNetns.undo();
    assert.equal(readFileSync(s.conf, 'utf8'), ORIGINAL);
  } finally {
    s.cleanup();
  }
});

test('invalid inputs set nothing up', async () => {
  const s = sandbox();
  try {
    for (const bad of [{ adapter: 'bad name; rm' }, { address: 'not-ip' }, { zone: 'bad zone' }]) {
      const r = await applyLinuxSplitDns({ ...base(s), ...bad });
      assert.equal(r.kind, 'none');
    }
    assert.equal(readFileSync(s.conf, 'utf8'), ORIGINAL);
  } finally {
    s.cleanup();
  }
});

test("a helper in a namespace made by `ip netns add` knows it is not in the machine's namespace", (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to create a network namespace');
  const name = `wdnst${process.pid}`;
  const script = `import(${JSON.stringify(new URL('./split-linux.js', import.meta.url).href)}).then((m) => console.log(m.inNamedNetns(), m.sameNetnsAsInit()))`;
  execFileSync('ip', ['netns', 'add', name]);
  try {
    const inside = execFileSync('ip', ['netns', 'exec', name, process.execPath, ...process.execArgv, '-e', script], {
      encoding: 'utf8',
    }).trim();
    assert.equal(inside, 'true false');
    const outside = execFileSync(process.execPath, [...process.execArgv, '-e', script], { encoding: 'utf8' }).trim();
    assert.equal(outside.split(' ')[0], 'false');
  } finally {
    execFileSync('ip', ['netns', 'del', name]);
  }
});
