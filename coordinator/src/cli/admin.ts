// Admin commands: `warren-coordinator keys|systems|policy ...`. Each one is a call to the admin
// API of a running coordinator, found through --data DIR (serve.json and admin.token) or given
// with --url and --token.
import { readFileSync } from 'node:fs';
import { CONTROL_PATHS, type ControlErrorBody } from '../../../src-shared/wire/control.js';
import { adminCall, targetFromDataDir, type AdminResult, type AdminTarget } from './admin-client.js';
import type { AdminKey, AdminSystem, CreatedKey, TaggedSystem } from '../api/admin-types.js';
import {
  bool,
  Failure,
  list,
  parse,
  str,
  table,
  UsageError,
  type CliIo,
  type OptionSpecs,
  type Parsed,
} from '../../../src-shared/lib/cli-args.js';
import { formatDuration, parseDuration } from '../api/duration.js';
import { ADMIN_TOKEN_ENV, explicitToken, TokenProblem } from './admin-token.js';

/** TARGET_OPTIONS are the flags every admin command takes. */
export const TARGET_OPTIONS: OptionSpecs = {
  data: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
  json: { type: 'boolean' },
};

/** ADMIN_USAGE is shown by --help and on usage errors. */
export const ADMIN_USAGE = `admin commands (each takes --data DIR, or --url URL [--ca CERT.pem], and the admin token from
--token-file PATH, $${ADMIN_TOKEN_ENV}, --token TOKEN (visible in ps) or the --data DIR, in that order):
  keys create [--tags a,b] [--approval automatic|gated] [--uses N] [--expires 7d] [--ephemeral] [--json]
  keys list [--json]
  keys revoke KEY_ID
  systems list [--json]
  systems show ID
  systems approve ID
  systems revoke ID
  systems delete ID                     (a revoked system only)
  systems tag ID (--set a,b | [--add a,b] [--remove c])
  systems rename ID NAME
  systems dns ID --set name1,name2      (--set '' clears)
  policy apply FILE [--strict]         (--strict: refuse on names that match nothing)
  policy test FILE [--json]            (dry run: problems, warnings, whose access changes)
  policy show [--json]
  audit [--since 1d] [--actor X] [--action X] [--refused] [--limit N] [--json]
  users list [--json]                  (people who signed in: serve --oidc)
  users disable|enable EMAIL-or-ID     (a disabled user's systems lose what the user vouched for)
ID is a system id (sys-...), its 5-character identity or its name (as systems list shows it).`;

/** target finds the coordinator (--data DIR's serve.json, or --url) and the admin token
 * (admin-token.ts for the order); the warning about --token goes to io.stderr. */
export function target(p: Parsed, io: CliIo): AdminTarget {
  const data = str(p, 'data');
  const url = str(p, 'url');
  const ca = str(p, 'ca');
  let token: string | undefined;
  try {
    token = explicitToken({ tokenFile: str(p, 'token-file'), token: str(p, 'token'), env: process.env }, (s) =>
      io.stderr.write(`warren-coordinator: ${s}`),
    );
  } catch (e) {
    if (e instanceof TokenProblem) throw new Failure(e.message);
    throw e;
  }
  let t: AdminTarget;
  if (data !== undefined) {
    if (url !== undefined) throw new UsageError('give either --data DIR or --url URL, not both');
    try {
      t = targetFromDataDir(data, token);
    } catch (e) {
      throw new Failure((e as Error).message);
    }
  } else if (url !== undefined && token !== undefined) {
    t = { url: url.replace(/\/+$/, ''), token };
  } else if (url !== undefined) {
    throw new UsageError(`--url needs the admin token: --token-file PATH, ${ADMIN_TOKEN_ENV}=TOKEN or --token TOKEN`);
  } else {
    throw new UsageError('say which coordinator: --data DIR (on its machine) or --url URL --token-file PATH');
  }
  if (ca !== undefined) t.ca = readFileSync(ca);
  return t;
}

/** call sends one admin request and returns the body of a 2xx answer, or fails with the error. */
export async function call<T>(t: AdminTarget, method: string, path: string, body?: unknown): Promise<T> {
  let r: AdminResult<unknown>;
  try {
    r = await adminCall(t.url, t.token, method, path, body, t.ca);
  } catch (e) {
    throw new Failure(`cannot reach the coordinator at ${t.url}: ${(e as Error).message}`);
  }
  if (r.status >= 200 && r.status < 300) return r.body as T;
  const err = (r.body as Partial<ControlErrorBody> | null)?.error;
  throw new Failure(`${err?.code ?? `HTTP ${r.status}`}: ${err?.message ?? 'no details'}`);
}

/** when writes a time as ISO 8601 UTC to the second. */
export function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function keyRows(keys: AdminKey[]): string {
  return table(
    ['ID', 'STATUS', 'TAGS', 'APPROVAL', 'USES', 'EPHEMERAL', 'EXPIRES'],
    keys.map((k) => [
      k.id,
      k.status,
      k.tags.join(',') || '-',
      k.approval,
      `${k.uses}/${k.usesAllowed}`,
      k.ephemeral ? 'yes' : 'no',
      when(k.expiresAt),
    ]),
  );
}

function systemRows(systems: AdminSystem[]): string {
  return table(
    ['IDENTITY', 'NAME', 'ADDRESS', 'IPV6 ADDRESS', 'STATE', 'ONLINE', 'TAGS', 'OWNER', 'LAST SEEN', 'SYSTEM ID'],
    systems.map((s) => [
      s.identity,
      s.name,
      s.virtualAddress,
      s.virtualAddress6,
      s.state,
      s.online ? 'yes' : 'no',
      s.tags.join(',') || '-',
      s.owner ?? '-',
      // Online means seen now (its watch stream is open); the JSON keeps the timestamp.
      s.online ? 'now' : when(s.lastSeen),
      s.systemId,
    ]),
  );
}

function systemDetail(s: AdminSystem): string {
  return (
    [
      `identity:   ${s.identity}`,
      `system id:  ${s.systemId}`,
      `name:       ${s.name} (hostname ${JSON.stringify(s.hostname)})`,
      `address:    ${s.virtualAddress}`,
      `address6:   ${s.virtualAddress6}`,
      `state:      ${s.state}${s.ephemeral ? ' (ephemeral)' : ''}`,
      `online:     ${s.online ? 'yes' : 'no'}`,
      `tags:       ${s.tags.join(', ') || '-'}`,
      `dns names:  ${s.dnsNames.join(', ') || '-'}`,
      `endpoints:  ${s.endpoints.join(' ') || '-'}`,
      `observed:   ${s.observedIp ?? '-'}${s.observedUdp ? ` (UDP ${s.observedUdp})` : ''}`,
      `last seen:  ${s.online ? 'now (online)' : when(s.lastSeen)}`,
      `enrolled:   ${when(s.createdAt)} with key ${s.keyId ?? '-'}`,
    ].join('\n') + '\n'
  );
}

const sysPath = (id: string): string => `${CONTROL_PATHS.adminSystems}/${encodeURIComponent(id)}`;

/** runKeys runs `keys ...`. */
export async function runKeys(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'create') {
    const p = parse(
      rest,
      {
        ...TARGET_OPTIONS,
        tags: { type: 'string' },
        approval: { type: 'string' },
        uses: { type: 'string' },
        expires: { type: 'string' },
        ephemeral: { type: 'boolean' },
      },
      { min: 0, max: 0 },
    );
    const approval = str(p, 'approval') ?? 'automatic';
    if (approval !== 'automatic' && approval !== 'gated') throw new UsageError('--approval must be automatic or gated');
    const usesText = str(p, 'uses') ?? '1';
    if (!/^[0-9]{1,7}$/.test(usesText) || Number(usesText) < 1)
      throw new UsageError('--uses must be a whole number from 1');
    const expires = parseDuration(str(p, 'expires') ?? '7d');
    if (typeof expires === 'object') throw new UsageError(`--expires: ${expires.problem}`);
    const created = await call<CreatedKey>(target(p, io), 'POST', CONTROL_PATHS.adminKeys, {
      tags: list(str(p, 'tags') ?? ''),
      approval,
      uses: Number(usesText),
      expiresInMs: expires,
      ephemeral: bool(p, 'ephemeral'),
    });
    for (const w of created.warnings ?? []) io.stderr.write(`warning: ${w}\n`);
    if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
    else {
      io.stdout.write(`${created.key}\n`);
      io.stderr.write(
        `created key ${created.id}: tags ${created.tags.join(',') || '-'}, ${created.approval}, ${created.usesAllowed} use${created.usesAllowed === 1 ? '' : 's'}, expires in ${formatDuration(expires)}${created.ephemeral ? ', ephemeral' : ''}. It is shown only this once.\n`,
      );
    }
    return 0;
  }
  if (sub === 'list') {
    const p = parse(rest, TARGET_OPTIONS, { min: 0, max: 0 });
    const { keys } = await call<{ keys: AdminKey[] }>(target(p, io), 'GET', CONTROL_PATHS.adminKeys);
    io.stdout.write(
      bool(p, 'json')
        ? `${JSON.stringify(keys, null, 2)}\n`
        : keys.length === 0
          ? 'no enrolment keys\n'
          : keyRows(keys),
    );
    return 0;
  }
  if (sub === 'revoke') {
    const p = parse(rest, TARGET_OPTIONS, { min: 1, max: 1 });
    const k = await call<AdminKey>(
      target(p, io),
      'POST',
      `${CONTROL_PATHS.adminKeys}/${encodeURIComponent(p.positionals[0]!)}/revoke`,
    );
    io.stdout.write(`key ${k.id} is revoked\n`);
    return 0;
  }
  throw new UsageError(
    sub === undefined
      ? 'keys needs a subcommand: create, list or revoke'
      : `unknown keys subcommand ${JSON.stringify(sub)}`,
  );
}

/** runSystems runs `systems ...`. */
export async function runSystems(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const one = (extra: OptionSpecs = {}, max = 1): Parsed =>
    parse(rest, { ...TARGET_OPTIONS, ...extra }, { min: max, max });
  const show = (p: Parsed, s: AdminSystem, line: string): number => {
    io.stdout.write(bool(p, 'json') ? `${JSON.stringify(s, null, 2)}\n` : line);
    return 0;
  };
  switch (sub) {
    case 'list': {
      const p = parse(rest, TARGET_OPTIONS, { min: 0, max: 0 });
      const { systems } = await call<{ systems: AdminSystem[] }>(target(p, io), 'GET', CONTROL_PATHS.adminSystems);
      io.stdout.write(
        bool(p, 'json')
          ? `${JSON.stringify(systems, null, 2)}\n`
          : systems.length === 0
            ? 'no systems\n'
            : systemRows(systems),
      );
      return 0;
    }
    case 'show': {
      const p = one();
      const s = await call<AdminSystem>(target(p, io), 'GET', sysPath(p.positionals[0]!));
      return show(p, s, systemDetail(s));
    }
    case 'approve':
    case 'revoke': {
      const p = one();
      const s = await call<AdminSystem>(target(p, io), 'POST', `${sysPath(p.positionals[0]!)}/${sub}`);
      return show(p, s, `${s.identity} (${s.name}) is ${s.state}\n`);
    }
    case 'delete': {
      const p = one();
      await call(target(p, io), 'DELETE', sysPath(p.positionals[0]!));
      io.stdout.write(`${p.positionals[0]!} is deleted\n`);
      return 0;
    }
    case 'tag': {
      const p = one({ set: { type: 'string' }, add: { type: 'string' }, remove: { type: 'string' } });
      const body: Record<string, string[]> = {};
      for (const k of ['set', 'add', 'remove']) if (str(p, k) !== undefined) body[k] = list(str(p, k)!);
      if (Object.keys(body).length === 0) throw new UsageError('systems tag needs --set, --add or --remove');
      if (body.set && (body.add || body.remove)) throw new UsageError('give either --set, or --add and/or --remove');
      const s = await call<TaggedSystem>(target(p, io), 'POST', `${sysPath(p.positionals[0]!)}/tags`, body);
      for (const w of s.warnings ?? []) io.stderr.write(`warning: ${w}\n`);
      return show(p, s, `${s.identity} (${s.name}) tags: ${s.tags.join(',') || '(none)'}\n`);
    }
    case 'rename': {
      const p = one({}, 2);
      const s = await call<AdminSystem>(target(p, io), 'POST', `${sysPath(p.positionals[0]!)}/name`, {
        name: p.positionals[1],
      });
      return show(p, s, `${s.identity} is now named ${s.name}\n`);
    }
    case 'dns': {
      const p = one({ set: { type: 'string' } });
      if (str(p, 'set') === undefined) throw new UsageError('systems dns needs --set name1,name2 (--set "" clears)');
      const s = await call<AdminSystem>(target(p, io), 'POST', `${sysPath(p.positionals[0]!)}/dns`, {
        names: list(str(p, 'set')!),
      });
      return show(p, s, `${s.identity} (${s.name}) DNS names: ${s.dnsNames.join(',') || '(none)'}\n`);
    }
    default:
      throw new UsageError(
        sub === undefined ? 'systems needs a subcommand' : `unknown systems subcommand ${JSON.stringify(sub)}`,
      );
  }
}
