import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAccess, deniedMessage, parseGroupGid, parseProcStatusGroups } from './auth.js';

const GROUP = [
  'root:x:0:',
  'warren:x:998:alice,bob',
  'broken:x:notanumber:',
  'short:x',
  'big:x:99999999999:',
  'warrenx:x:997:',
].join('\n');

test('parseGroupGid finds exactly the named group and refuses malformed lines', () => {
  const cases: [string, number | null][] = [
    ['warren', 998],
    ['root', 0],
    ['warrenx', 997],
    ['warre', null],
    ['broken', null],
    ['short', null],
    ['big', null],
    ['', null],
  ];
  for (const [name, want] of cases) assert.equal(parseGroupGid(GROUP, name), want, name);
});

const status = (uid: string, groups: string) =>
  `Name:\tnode\nUid:\t${uid}\nGid:\t100\t100\t100\t100\nGroups:\t${groups}\n`;

test('parseProcStatusGroups believes the groups only when the Uid line names the caller', () => {
  const cases: [string, number, number[] | null][] = [
    [status('1000\t1000\t1000\t1000', '4 24 998 '), 1000, [4, 24, 998]],
    [status('1000\t1000\t1000\t1000', ''), 1000, []],
    [status('1001\t1001\t1001\t1001', '998'), 1000, null], // pid reused by another user
    [status('0\t1000\t1000\t1000', '998'), 1000, [998]], // effective uid
    [status('1000\t1000\t1000\t1000', '4 x 998'), 1000, null],
    ['Name:\tnode\n', 1000, null],
  ];
  for (const [text, uid, want] of cases) assert.deepEqual(parseProcStatusGroups(text, uid), want, text);
});

test('checkAccess: root, primary group, supplementary group, others; and what a refusal says', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-auth-'));
  try {
    const groupFile = join(dir, 'group');
    writeFileSync(groupFile, GROUP);
    const procRoot = join(dir, 'proc');
    for (const [pid, uid, groups] of [
      [10, 1000, '998'],
      [11, 1001, '4 24'],
      [12, 1002, '998'],
    ] as const) {
      mkdirSync(join(procRoot, String(pid)), { recursive: true });
      writeFileSync(join(procRoot, String(pid), 'status'), status(`${uid}\t${uid}\t${uid}\t${uid}`, groups));
    }
    const deps = { groupFile, procRoot };
    const cases: [string, { pid: number; uid: number; gid: number } | null, string, boolean][] = [
      ['root', { pid: 1, uid: 0, gid: 0 }, 'warren', true],
      ['supplementary member', { pid: 10, uid: 1000, gid: 1000 }, 'warren', true],
      ['primary group', { pid: 99, uid: 1003, gid: 998 }, 'warren', true],
      ['not a member', { pid: 11, uid: 1001, gid: 1001 }, 'warren', false],
      ['pid of another user', { pid: 12, uid: 1001, gid: 1001 }, 'warren', false],
      ['process gone', { pid: 13, uid: 1000, gid: 1000 }, 'warren', false],
      ['group missing: only root', { pid: 10, uid: 1000, gid: 998 }, 'nogroup', false],
      ['unknown caller', null, 'warren', false],
    ];
    for (const [label, caller, group, want] of cases) {
      assert.equal(checkAccess(caller, group, deps).privileged, want, label);
    }
    assert.match(
      deniedMessage(checkAccess({ pid: 11, uid: 1001, gid: 1001 }, 'warren', deps)),
      /membership in the "warren" group.*usermod -aG warren/,
    );
    assert.match(
      deniedMessage(checkAccess({ pid: 11, uid: 1001, gid: 1001 }, 'nogroup', deps)),
      /"nogroup" does not exist.*groupadd nogroup/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
