// `warren-coordinator audit`: the coordinator's audit log (GET /v1/admin/audit), one entry a
// line in aligned columns, or as JSON.
import { CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import { bool, parse, str, table, UsageError, type CliIo } from '../../../src-shared/lib/cli-args.js';
import type { AuditList } from '../api/audit-route.js';
import { parseDuration } from '../api/duration.js';
import type { StoredAudit } from '../store/audit-rows.js';
import { call, TARGET_OPTIONS, target, when } from './admin.js';

const NAME = /^[A-Za-z0-9._:,-]{1,64}$/;

/** rows is one line per entry in aligned columns, without the padding an empty detail leaves. */
function rows(entries: StoredAudit[]): string {
  return lines(
    table(
      ['TIME', 'ACTOR', 'SOURCE', 'ACTION', 'TARGET', 'OUTCOME', 'DETAIL'],
      entries.map((e) => [
        when(e.at),
        e.actor,
        e.source ?? '-',
        e.action || '-',
        e.target,
        e.outcome === 'ok' ? 'ok' : `refused:${e.reason ?? '?'}`,
        e.detail ?? '',
      ]),
    ),
  );
}

const lines = (text: string): string => text.replace(/ +\n/g, '\n');

/** auditQuery turns the flags into the route's query string (since from this machine's clock). */
export function auditQuery(
  argv: string[],
  now: number,
): { query: URLSearchParams; json: boolean; rest: ReturnType<typeof parse> } {
  const p = parse(
    argv,
    {
      ...TARGET_OPTIONS,
      since: { type: 'string' },
      actor: { type: 'string' },
      action: { type: 'string' },
      refused: { type: 'boolean' },
      limit: { type: 'string' },
    },
    { min: 0, max: 0 },
  );
  const q = new URLSearchParams();
  const since = str(p, 'since');
  if (since !== undefined) {
    const d = parseDuration(since);
    if (typeof d === 'object') throw new UsageError(`--since: ${d.problem}`);
    q.set('since', String(Math.max(0, now - d)));
  }
  for (const k of ['actor', 'action']) {
    const v = str(p, k);
    if (v === undefined) continue;
    if (!NAME.test(v)) throw new UsageError(`--${k} must be 1 to 64 letters, digits and . _ : , -`);
    q.set(k, v);
  }
  if (bool(p, 'refused')) q.set('refused', '1');
  const limit = str(p, 'limit');
  if (limit !== undefined) {
    if (!/^[0-9]{1,5}$/.test(limit) || Number(limit) < 1) throw new UsageError('--limit must be a whole number from 1');
    q.set('limit', limit);
  }
  return { query: q, json: bool(p, 'json'), rest: p };
}

/** runAudit runs `audit ...`. */
export async function runAudit(argv: string[], io: CliIo): Promise<number> {
  const { query, json, rest } = auditQuery(argv, Date.now());
  const qs = query.toString();
  const { entries } = await call<AuditList>(
    target(rest, io),
    'GET',
    `${CONTROL_PATHS.adminAudit}${qs === '' ? '' : `?${qs}`}`,
  );
  if (json) io.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
  else io.stdout.write(entries.length === 0 ? 'no audit entries\n' : rows(entries));
  return 0;
}
