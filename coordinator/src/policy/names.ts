// System names and DNS names. A system's name is a single DNS label (its default DNS name is
// NAME.<zone>); extra DNS names may have several labels ("db.prod" → db.prod.<zone>). All of
// them are lower case: DNS compares names case-insensitively, so storing one spelling keeps
// uniqueness checks honest.

/** NAME_LIMITS bound names and lists of names. */
export const NAME_LIMITS = {
  labelChars: 63,
  nameChars: 253,
  dnsNamesPerSystem: 32,
} as const;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** isDnsLabel tells whether s is one lower-case DNS label (letters, digits, inner hyphens). */
export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

/** parseDnsName normalises a relative DNS name ("DB.Prod" → "db.prod") or says what is wrong. */
export function parseDnsName(raw: unknown): string | { problem: string } {
  if (typeof raw !== 'string') return { problem: 'must be a string' };
  if (raw.length === 0 || raw.length > NAME_LIMITS.nameChars) {
    return { problem: `must have 1 to ${NAME_LIMITS.nameChars} characters` };
  }
  const name = raw.toLowerCase().replace(/\.$/, '');
  for (const label of name.split('.')) {
    if (!isDnsLabel(label)) {
      return {
        problem: `${JSON.stringify(raw.slice(0, 80))} is not a DNS name (labels of letters, digits and inner hyphens, separated by dots, relative to the zone)`,
      };
    }
  }
  return name;
}

/** sanitiseHostname turns a reported hostname into a DNS label: "Laptop_1.local" → "laptop-1".
 * Only the first label of a dotted hostname is kept; the zone supplies the rest. */
export function sanitiseHostname(hostname: string): string {
  const first = hostname.split('.')[0] ?? '';
  const label = first
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+/, '')
    .slice(0, NAME_LIMITS.labelChars)
    .replace(/-+$/, '');
  return label === '' ? 'system' : label;
}

/** uniqueName returns base, or base-2, base-3, ... the first one taken() refuses; the suffix
 * replaces the end of a long base so the label stays within 63 characters. */
export function uniqueName(base: string, taken: (name: string) => boolean): string {
  if (!taken(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const head = base.slice(0, NAME_LIMITS.labelChars - suffix.length).replace(/-+$/, '');
    const name = `${head}${suffix}`;
    if (!taken(name)) return name;
  }
}

/** TAG_LABEL_PROBLEM explains why a tag must be a DNS label in coordinated mode: helpers answer
 * TAG.tag.<zone>, and the maps they accept carry tags in that form. */
export const TAG_LABEL_PROBLEM = (tag: string): string =>
  `tag ${JSON.stringify(tag.slice(0, 70))} must be a DNS label (letters, digits and inner hyphens) because helpers answer TAG.tag.<zone>`;
