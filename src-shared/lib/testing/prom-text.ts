// A strict reader of the Prometheus text exposition format (version 0.0.4,
// https://prometheus.io/docs/instrumenting/exposition_formats/) for tests: it refuses anything a
// Prometheus server would refuse (bad names, bad escapes, unparsable values, a sample of a family
// with no TYPE, a repeated series), so a test that scrapes through it checks the format too.

/** PromType is a metric family's TYPE. */
export type PromType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** PromSample is one line: the series name (with any _bucket/_sum/_count suffix), labels, value. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** PromFamily is a TYPE line, its HELP and its samples. */
export interface PromFamily {
  name: string;
  type: PromType;
  help: string | null;
  samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const SUFFIXES: Record<PromType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** parsePromText parses a scrape; it throws an Error naming the line on anything malformed. */
export function parsePromText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition must end with a newline');
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line === '') return;
    if (line.startsWith('#')) return meta(line, families, where);
    const s = sampleLine(line, where);
    const fam = familyOf(s.name, families);
    if (!fam) throw new Error(`${where}: sample of a family without a TYPE line`);
    const key = `${s.name}${JSON.stringify(Object.entries(s.labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: the series appears twice`);
    seen.add(key);
    fam.samples.push(s);
  });
  return families;
}

function meta(line: string, families: Map<string, PromFamily>, where: string): void {
  const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
  if (!m) return; // other comments are allowed
  const [, kind, name, rest] = m as unknown as [string, string, string, string];
  if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
  let fam = families.get(name);
  if (kind === 'TYPE') {
    if (!TYPES.includes(rest)) throw new Error(`${where}: unknown type`);
    if (fam?.samples.length) throw new Error(`${where}: TYPE after samples`);
    if (fam && fam.type !== 'untyped') throw new Error(`${where}: second TYPE`);
    fam ??= { name, type: 'untyped', help: null, samples: [] };
    fam.type = rest as PromType;
  } else {
    fam ??= { name, type: 'untyped', help: null, samples: [] };
    if (fam.help !== null) throw new Error(`${where}: second HELP`);
    fam.help = unescape(rest, false, where);
  }
  families.set(name, fam);
}

function familyOf(series: string, families: Map<string, PromFamily>): PromFamily | undefined {
  for (const fam of families.values()) {
    for (const suffix of SUFFIXES[fam.type]) if (series === fam.name + suffix) return fam;
  }
  return undefined;
}

function sampleLine(line: string, where: string): PromSample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)( -?[0-9]+)?$/.exec(line);
  if (!m) throw new Error(`${where}: not a sample line`);
  return { name: m[1]!, labels: labelsOf(m[2] ?? '', where), value: valueOf(m[3]!, where) };
}

function valueOf(text: string, where: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$/.test(text)) throw new Error(`${where}: bad value`);
  return Number(text);
}

function labelsOf(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === '') return labels;
  let rest = text.slice(1, -1);
  while (rest !== '') {
    const m = /^([^=]+)="((?:[^"\\]|\\.)*)"(,?)/.exec(rest);
    if (!m || !LABEL.test(m[1]!)) throw new Error(`${where}: bad label`);
    if (Object.hasOwn(labels, m[1]!)) throw new Error(`${where}: label ${m[1]} twice`);
    labels[m[1]!] = unescape(m[2]!, true, where);
    rest = rest.slice(m[0].length);
    if (m[3] === '' && rest !== '') throw new Error(`${where}: labels not separated by commas`);
  }
  return labels;
}

/** unescape undoes \\ and \n (and \" in label values); any other escape is an error. */
function unescape(text: string, quotes: boolean, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new Error(`${where}: bad escape \\${c}`);
  });
}

/** promValue is the value of the one sample of family name with exactly these labels (a test
 * fails on a missing one rather than reading undefined). */
export function promValue(
  families: Map<string, PromFamily>,
  series: string,
  labels: Record<string, string> = {},
): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const fam of families.values()) {
    for (const s of fam.samples) {
      if (s.name === series && JSON.stringify(Object.entries(s.labels).sort()) === want) return s.value;
    }
  }
  throw new Error(`no sample ${series}${JSON.stringify(labels)}`);
}
