import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProfileError } from '../../../src-shared/lib/errors.js';
import { loadProfile, ownershipProblem, readProfile, saveProfile } from './load.js';
import { toProfileJson } from './schema.js';

const GOOD = `{
  "PrivateKey": "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
  "ListenPort": 51820,
  "VirtualAddress": "100.64.0.1",
  "Peers": [
    {
      "Name": "beta",
      "PublicKey": "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
      "Endpoint": "192.0.2.2:51820",
      "AllowedIPs": ["100.64.0.2/32"],
      "PersistentKeepalive": 25
    }
  ],
  "Dns": { "Zone": "corp.internal" }
}
`;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-profile-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function fileProblem(path: string): RegExp {
  return new RegExp(`^profile ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `);
}

test('loadProfile reads the documented example', () => {
  const p = loadProfile(write('good.profile', GOOD));
  assert.equal(p.virtualAddress, '100.64.0.1');
  assert.equal(p.peers[0]!.name, 'beta');
  assert.deepEqual(p.reserved, { Dns: { Zone: 'corp.internal' } });
  assert.equal(p.dns.zone, 'corp.internal');
  assert.equal(p.policies, null, 'no Policies key: allow all between configured peers');
});

test('file-level problems name the file and say what is wrong', () => {
  mkdirSync(join(dir, 'a-directory'), { recursive: true });
  const cases: [string, string, RegExp][] = [
    [
      'missing',
      join(dir, 'does-not-exist.profile'),
      /does not exist; create it with `warren init --profile .*does-not-exist\.profile/,
    ],
    ['directory', join(dir, 'a-directory'), /is a directory/],
    [
      'syntax',
      write('syntax.profile', '{\n  "ListenPort": 1,\n  "VirtualAddress" "x"\n}'),
      /is not valid JSON: line 3, column 20: .*expected ":"/,
    ],
    ['empty', write('empty.profile', ''), /is not valid JSON: line 1, column 1: the file is empty/],
    ['not UTF-8', write('latin1.profile', Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d])), /is not valid UTF-8/],
    ['too big', write('big.profile', ' '.repeat(1024 * 1024 + 1)), /is 1048577 bytes \(the limit is 1048576\)/],
  ];
  for (const [name, path, problem] of cases) {
    assert.throws(
      () => loadProfile(path),
      (e: unknown) => {
        assert.ok(e instanceof ProfileError, name);
        assert.match(e.message, fileProblem(path), name);
        assert.match(e.message, problem, name);
        return true;
      },
    );
  }
});

test('round trip: load, write back in file form, load again gives the same profile', () => {
  const src = write('rt.profile', GOOD);
  const first = loadProfile(src);
  const copy = join(dir, 'rt-copy.profile');
  saveProfile(copy, toProfileJson(first));
  const second = loadProfile(copy);
  assert.deepEqual(second, first);
  // and the written file is plain JSON with defaults spelled out
  const written = JSON.parse(readFileSync(copy, 'utf8'));
  assert.equal(written.VirtualNetwork, '100.64.0.0/10');
  // ...except an adapter name the profile left out: written, it would turn off the fallback.
  assert.deepEqual(written.Adapter, { Mtu: 1420 });
  assert.deepEqual(written.Dns, { Zone: 'corp.internal' });
});

test('saveProfile writes mode 0600 and leaves no temporary files', () => {
  const sub = mkdtempSync(join(dir, 'save-'));
  const path = join(sub, 'x.profile');
  const { json } = readProfile(write('src.profile', GOOD));
  saveProfile(path, json);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(sub), ['x.profile']);
  assert.equal(loadProfile(path).listenPort, 51820);
});

test('saveProfile leaves the old file intact when the new content is invalid', () => {
  const sub = mkdtempSync(join(dir, 'keep-'));
  const path = join(sub, 'x.profile');
  writeFileSync(path, GOOD);
  const { json } = readProfile(path);
  const bad = { ...json, ListenPort: 'eighty' };
  assert.throws(
    () => saveProfile(path, bad),
    (e: unknown) => e instanceof ProfileError && /ListenPort: must be a whole number/.test(e.message),
  );
  assert.throws(() => saveProfile(path, '{ "PrivateKey": '), /is not valid JSON/);
  assert.equal(readFileSync(path, 'utf8'), GOOD);
  assert.deepEqual(readdirSync(sub), ['x.profile']);
});

test('saveProfile with overwrite false refuses an existing file', () => {
  const sub = mkdtempSync(join(dir, 'excl-'));
  const path = join(sub, 'x.profile');
  const { json } = readProfile(write('src2.profile', GOOD));
  saveProfile(path, json, { overwrite: false });
  const other = { ...json, ListenPort: 1234 };
  assert.throws(() => saveProfile(path, other, { overwrite: false }), /already exists \(use --force to replace it\)/);
  assert.equal(loadProfile(path).listenPort, 51820);
  assert.deepEqual(readdirSync(sub), ['x.profile']);
  saveProfile(path, other);
  assert.equal(loadProfile(path).listenPort, 1234);
});

test('ownershipProblem: a profile must belong to root (or the user running) and be writable by nobody else', () => {
  const F = '/etc/warren/profiles/Universe.profile';
  const rootFix = `Fix it with \`chown root:root ${F}; chmod 600 ${F}\``;
  const cases: [string, number, number, number, string | null][] = [
    // [label, owner uid, mode, running uid, expected message or null]
    ['root, 0600, run by root', 0, 0o100600, 0, null],
    ['root, 0644, run by root', 0, 0o100644, 0, null],
    ['root, 0640, run by a user', 0, 0o100640, 1000, null],
    ['the user, 0600, run by that user', 1000, 0o100600, 1000, null],
    [
      'group-writable',
      0,
      0o100664,
      0,
      `is writable by its group (owner uid 0, mode 0664); a profile controls what the helper does as root, so only its owner may write it. ${rootFix}`,
    ],
    [
      'writable by others',
      0,
      0o100646,
      0,
      `is writable by other users (owner uid 0, mode 0646); a profile controls what the helper does as root, so only its owner may write it. ${rootFix}`,
    ],
    [
      'writable by both, setuid bit shown',
      0,
      0o104666,
      0,
      `is writable by its group and other users (owner uid 0, mode 04666); a profile controls what the helper does as root, so only its owner may write it. ${rootFix}`,
    ],
    [
      'owned by a user, run by root',
      1000,
      0o100600,
      0,
      `is owned by uid 1000, not by root (owner uid 1000, mode 0600); a profile controls what the helper does as root, so only its owner may write it. ${rootFix}`,
    ],
    [
      'owned by another user, run by a user',
      2000,
      0o100600,
      1000,
      `is owned by uid 2000, not by root or by you (uid 1000) (owner uid 2000, mode 0600); a profile controls what the helper does as root, so only its owner may write it. ${rootFix}`,
    ],
    [
      "the user's own, group-writable",
      1000,
      0o100620,
      1000,
      `is writable by its group (owner uid 1000, mode 0620); a profile controls what the helper does as root, so only its owner may write it. Fix it with \`chmod 600 ${F}\``,
    ],
  ];
  for (const [label, uid, mode, running, want] of cases) {
    assert.equal(ownershipProblem(F, { uid, mode }, running), want, label);
  }
  assert.equal(ownershipProblem(F, { uid: 5, mode: 0o100666 }, null), null, 'no POSIX owners: nothing to check');
  assert.match(
    ownershipProblem("/tmp/my profile's.json", { uid: 0, mode: 0o100666 }, 0) ?? '',
    /Fix it with `chown root:root '\/tmp\/my profile'\\''s\.json'; chmod 600 '\/tmp\/my profile'\\''s\.json'`$/,
    'a path that needs quoting is quoted for the shell',
  );
});

test('loadProfile refuses a profile others may write, or one owned by another user, naming file, owner, mode and fix', () => {
  const running = process.getuid!();
  const sub = mkdtempSync(join(dir, 'owner-'));
  const path = join(sub, 'x.profile');
  writeFileSync(path, GOOD, { mode: 0o600 });
  assert.equal(loadProfile(path).listenPort, 51820, 'mode 0600, owned by the running user: accepted');
  for (const mode of [0o620, 0o602, 0o666]) {
    chmodSync(path, mode);
    assert.throws(
      () => loadProfile(path),
      (e: unknown) => {
        assert.ok(e instanceof ProfileError);
        assert.match(e.message, fileProblem(path));
        assert.match(e.message, new RegExp(`\\(owner uid ${running}, mode 0${mode.toString(8)}\\)`));
        assert.match(e.message, /Fix it with `(chown root:root \S+; )?chmod 600 \S+`$/);
        return true;
      },
      `mode 0${mode.toString(8)}`,
    );
  }
  chmodSync(path, 0o600);
  if (running !== 0) return; // only root can hand a file to another user
  chownSync(path, 12345, 12345);
  assert.throws(
    () => readProfile(path),
    (e: unknown) =>
      e instanceof ProfileError &&
      e.message ===
        `profile ${path}: is owned by uid 12345, not by root (owner uid 12345, mode 0600); a profile controls ` +
          `what the helper does as root, so only its owner may write it. Fix it with \`chown root:root ${path}; chmod 600 ${path}\``,
  );
});
