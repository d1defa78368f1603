// `warren-coordinator users list`: the people who signed in (serve --oidc), their groups as
// the identity provider last said, when they last authenticated and their systems.
// `users disable|enable EMAIL-or-ID`: a disabled user's systems lose what the user vouched for.
import { parse, table, bool, UsageError, type CliIo } from '../../../src-shared/lib/cli-args.js';
import type { AdminUser } from '../api/admin-types.js';
import { USERS_PATH } from '../api/users-route.js';
import { call, target, TARGET_OPTIONS } from './admin.js';

/** runUsers runs `users SUBCOMMAND`. */
export async function runUsers(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'disable' || sub === 'enable') return setDisabled(sub, rest, io);
  if (sub !== 'list')
    throw new UsageError(
      sub === undefined
        ? 'users needs a subcommand (list, disable or enable)'
        : `unknown users subcommand ${JSON.stringify(sub.slice(0, 40))} (list, disable or enable)`,
    );
  const p = parse(rest, TARGET_OPTIONS, { min: 0, max: 0 });
  const { users } = await call<{ users: AdminUser[] }>(target(p, io), 'GET', USERS_PATH);
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(users, null, 2)}\n`);
  else if (users.length === 0) io.stdout.write('no users (nobody signed in yet)\n');
  else
    io.stdout.write(
      table(
        ['EMAIL', 'GROUPS', 'PROVIDER', 'LAST SIGN-IN', 'STATE', 'SYSTEMS'],
        users.map((u) => [
          u.email,
          u.groups.join(',') || '-',
          u.provider,
          new Date(u.lastAuthAt).toISOString().replace(/\.\d+Z$/, 'Z'),
          u.disabled ? 'disabled' : u.lapsedAt !== null ? 'lapsed' : 'active',
          u.systems.join(',') || '-',
        ]),
      ),
    );
  return 0;
}

async function setDisabled(verb: 'disable' | 'enable', argv: string[], io: CliIo): Promise<number> {
  const p = parse(argv, TARGET_OPTIONS, { min: 1, max: 1 });
  const who = p.positionals[0]!;
  const u = await call<AdminUser>(target(p, io), 'POST', `${USERS_PATH}/${encodeURIComponent(who)}/${verb}`);
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(u, null, 2)}\n`);
  else
    io.stdout.write(
      `${u.email} is ${u.disabled ? 'disabled: their systems lose what they vouched for' : 'enabled'} (${u.systems.length} systems: ${u.systems.join(',') || '-'})\n`,
    );
  return 0;
}
