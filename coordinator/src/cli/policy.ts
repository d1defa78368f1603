// `warren-coordinator policy apply|test|show`: the policy file commands. Problems and warnings
// are printed as FILE:LINE:COL like a compiler's, so editors can jump to them.
import { readFileSync, statSync } from 'node:fs';
import { ADMIN_PATHS, type AccessChange, type PolicyTestResult } from '../../../src-shared/wire/admin.js';
import { CONTROL_LIMITS, CONTROL_PATHS, type ControlErrorBody } from '../../../src-shared/wire/control.js';
import { bool, Failure, parse, UsageError, type CliIo } from '../../../src-shared/lib/cli-args.js';
import type { PolicyInfo, PolicyIssueWire, PolicyWarning } from '../api/admin-types.js';
import { formatPolicyIssues } from '../policy/policy-file.js';
import { adminCall, type AdminResult } from './admin-client.js';
import { call, TARGET_OPTIONS, target, when } from './admin.js';
import type { Parsed } from '../../../src-shared/lib/cli-args.js';

function readPolicyFile(file: string): string {
  try {
    const size = statSync(file).size;
    if (size > CONTROL_LIMITS.policyFileBytes)
      throw new Failure(`${file}: the file has ${size} bytes (the limit is ${CONTROL_LIMITS.policyFileBytes})`);
    return readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof Failure) throw e;
    throw new Failure(`cannot read ${file}: ${(e as Error).message}`);
  }
}

async function send(p: Parsed, io: CliIo, method: string, path: string, text: string): Promise<AdminResult<unknown>> {
  const t = target(p, io);
  try {
    return await adminCall(t.url, t.token, method, path, text, t.ca);
  } catch (e) {
    throw new Failure(`cannot reach the coordinator at ${t.url}: ${(e as Error).message}`);
  }
}

function failed(r: AdminResult<unknown>): Failure {
  const err = (r.body as Partial<ControlErrorBody> | null)?.error;
  return new Failure(`${err?.code ?? `HTTP ${r.status}`}: ${err?.message ?? 'no details'}`);
}

/** formatWarnings renders warnings as `FILE:LINE:COL: warning: KEY: problem`, one per line. */
export function formatWarnings(file: string, warnings: readonly PolicyIssueWire[]): string {
  return warnings
    .map((w) => `${file}:${w.line}:${w.column}: warning: ${w.key === null ? '' : `${w.key}: `}${w.problem}\n`)
    .join('');
}

async function apply(p: Parsed, io: CliIo): Promise<number> {
  const file = p.positionals[0]!;
  const strict = bool(p, 'strict');
  const text = readPolicyFile(file);
  const r = await send(p, io, 'PUT', `${CONTROL_PATHS.adminPolicy}${strict ? '?strict=1' : ''}`, text);
  if (r.status === 422) {
    const issues = (r.body as { issues?: (PolicyIssueWire & Partial<PolicyWarning>)[] }).issues ?? [];
    // A strict refusal's issues are warnings (they carry a kind); print them as such.
    const asWarnings = issues.length > 0 && issues.every((i) => i.kind !== undefined);
    io.stderr.write(asWarnings ? formatWarnings(file, issues) : `${formatPolicyIssues(file, issues)}\n`);
    io.stderr.write(
      `${file}: refused${asWarnings ? ' (--strict: names that match nothing)' : ''}; the previous policy stays in force\n`,
    );
    return 1;
  }
  if (r.status !== 200) throw failed(r);
  const info = r.body as PolicyInfo;
  io.stderr.write(formatWarnings(file, info.warnings ?? []));
  io.stdout.write(
    `applied ${file}: ${info.counts.policies} policies, ${info.counts.tags} tags, ${info.counts.dnsRecords} DNS records, ${info.counts.routes} routes (map version ${info.mapVersion})\n`,
  );
  return 0;
}

const who = (name: string, identity: string): string => `${name} (${identity})`;

/** formatChange renders one pair: `+` gains access, `-` loses it all, `~` keeps some. */
export function formatChange(c: AccessChange): string {
  const pair = `${who(c.fromName, c.from)} → ${who(c.toName, c.to)}`;
  if (c.before.length === 0) return `+ ${pair}: ${c.after.join(',')}`;
  if (c.after.length === 0) return `- ${pair}: ${c.before.join(',')}`;
  return `~ ${pair}: ${c.before.join(',')} → ${c.after.join(',')}`;
}

/** formatTestResult renders a dry run for a terminal: the diff (stdout) and the summary. */
export function formatTestResult(r: PolicyTestResult): string {
  const lines = r.changes.map(formatChange);
  for (const c of r.routes)
    lines.push(
      `${c.change === 'granted' ? '+' : '-'} route ${who(c.senderName, c.sender)} via ${c.exitNode}: ${c.subnet}`,
    );
  const pairs = r.changedPairs ?? r.changes.length;
  if (pairs === 0 && r.routes.length === 0) lines.push('no access changes');
  else lines.push(`${pairs} pair${pairs === 1 ? '' : 's'} and ${r.routes.length} route grant(s) change`);
  if (r.truncated)
    lines.push(`(only the first ${r.changes.length} pairs and ${r.routes.length} route changes are listed)`);
  return `${lines.join('\n')}\n`;
}

async function dryRun(p: Parsed, io: CliIo): Promise<number> {
  const file = p.positionals[0]!;
  const r = await send(p, io, 'POST', ADMIN_PATHS.policyTest, readPolicyFile(file));
  if (r.status !== 200) throw failed(r);
  const result = r.body as PolicyTestResult;
  if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (!result.ok) {
    io.stderr.write(`${formatPolicyIssues(file, result.issues)}\n${file}: apply would refuse this file\n`);
    return 1;
  }
  if (bool(p, 'json')) return 0;
  io.stderr.write(formatWarnings(file, result.warnings));
  io.stdout.write(formatTestResult(result));
  return 0;
}

/** runPolicy runs `policy apply FILE [--strict]`, `policy test FILE` and `policy show`. */
export async function runPolicy(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'apply')
    return apply(parse(rest, { ...TARGET_OPTIONS, strict: { type: 'boolean' } }, { min: 1, max: 1 }), io);
  if (sub === 'test') return dryRun(parse(rest, TARGET_OPTIONS, { min: 1, max: 1 }), io);
  if (sub === 'show') {
    const p = parse(rest, TARGET_OPTIONS, { min: 0, max: 0 });
    const info = await call<PolicyInfo>(target(p, io), 'GET', CONTROL_PATHS.adminPolicy);
    if (bool(p, 'json')) io.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    else if (info.text === null) io.stdout.write('no policy file applied yet: no system may reach any other\n');
    else io.stdout.write(info.text.endsWith('\n') ? info.text : `${info.text}\n`);
    if (!bool(p, 'json') && info.appliedAt !== null) io.stderr.write(`applied ${when(info.appliedAt)}\n`);
    return 0;
  }
  throw new UsageError(
    sub === undefined
      ? 'policy needs a subcommand: apply, test or show'
      : `unknown policy subcommand ${JSON.stringify(sub)}`,
  );
}
