// Test support: real system users and groups made for one test run (useradd --system) and
// removed afterwards, and running a Node script as one of them with its supplementary groups
// (setpriv --init-groups; node's own spawn({uid}) drops supplementary groups). Only tests use it.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';

/** usersSkipReason says why users cannot be made here, or undefined when they can. */
export function usersSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root to create test users';
  for (const bin of [
    '/usr/sbin/useradd',
    '/usr/sbin/userdel',
    '/usr/sbin/groupadd',
    '/usr/sbin/groupdel',
    '/usr/bin/setpriv',
  ]) {
    if (!existsSync(bin)) return `needs ${bin}`;
  }
  return undefined;
}

/** TestUser is a created user. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
}

/** TestUsers creates users and groups and removes every one of them in cleanup(). */
export class TestUsers {
  private readonly users: string[] = [];
  private readonly groups: string[] = [];
  private n = 0;
  private readonly tag = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;

  /** group creates a system group and returns its name. */
  group(label: string): string {
    const name = `wt${this.tag}${label}${this.n++}`.slice(0, 31);
    execFileSync('/usr/sbin/groupadd', ['--system', name]);
    this.groups.push(name);
    return name;
  }

  /** user creates a system user without a home, optionally with a primary and extra groups. */
  user(label: string, opts: { primary?: string; extra?: string[] } = {}): TestUser {
    const name = `wt${this.tag}${label}${this.n++}`.slice(0, 31);
    const args = ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin'];
    if (opts.primary) args.push('--gid', opts.primary);
    else args.push('--user-group');
    if (opts.extra?.length) args.push('--groups', opts.extra.join(','));
    execFileSync('/usr/sbin/useradd', [...args, name]);
    this.users.push(name);
    const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
    return { name, uid, gid };
  }

  /** cleanup removes every user, then every group; it never throws. */
  cleanup(): void {
    for (const u of this.users.splice(0)) {
      try {
        execFileSync('/usr/sbin/userdel', [u], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    }
    for (const g of this.groups.splice(0)) {
      try {
        execFileSync('/usr/sbin/groupdel', [g], { stdio: 'ignore' });
      } catch {
        /* already gone, or removed with its user */
      }
    }
  }
}

/** spawnNodeAs starts `node -e script` as user with its groups; stdin, stdout and stderr are pipes. */
export function spawnNodeAs(user: TestUser, script: string, timeoutMs = 20_000): ChildProcessWithoutNullStreams {
  // Keep tsx (or any other loader) so a child can import the TypeScript sources.
  const loaders = process.execArgv.filter((a, i, all) => a.startsWith('--import') || all[i - 1] === '--import');
  const argv = [
    '--reuid',
    String(user.uid),
    '--regid',
    String(user.gid),
    '--init-groups',
    '--',
    process.execPath,
    ...loaders,
    '--input-type=module',
    '-e',
    script,
  ];
  return spawn('/usr/bin/setpriv', argv, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, HOME: '/tmp' },
    timeout: timeoutMs,
  });
}

/** runNodeAs runs `node -e script` as user with its groups and returns stdout (stderr on failure). */
export function runNodeAs(
  user: TestUser,
  script: string,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnNodeAs(user, script, timeoutMs);
    child.stdin.end();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
