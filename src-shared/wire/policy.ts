// Policy model (docs/profile.md, "Policy and DNS keys"). The helper reads it from a static profile today; the
// coordinator will produce the same shapes later. Domain types only: no Node or DOM imports.

/** Day is a day of the week as written in a schedule. */
export type Day = 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat' | 'Sun';

/** DAYS lists the days in ISO order (Monday first); the index is the ISO weekday minus one. */
export const DAYS: readonly Day[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Protocol is what an ACL matches: 'any' also covers protocols other than TCP, UDP and ICMP. */
export type Protocol = 'any' | 'tcp' | 'udp' | 'icmp';

/** PortRange is an inclusive range of TCP or UDP ports, 1 <= from <= to <= 65535. */
export interface PortRange {
  from: number;
  to: number;
}

/** Acl is one grant of a policy. ports empty means every port; ports are ignored for icmp. */
export interface Acl {
  protocol: Protocol;
  ports: PortRange[];
}

/** ScheduleRequirement is met on the listed days between from (inclusive) and to (exclusive),
 * local time in timeZone (an IANA name). from > to is an overnight window that starts on a
 * listed day and ends the next morning; to may be '24:00' for the end of the day. */
export interface ScheduleRequirement {
  type: 'schedule';
  days: Day[];
  from: string;
  to: string;
  timeZone: string;
}

/** PublicIpRequirement is met while this system's public address is inside one of ranges (when
 * given), inside none of blocked, in one of countries (when given) and in none of
 * blockedCountries (ISO 3166-1 alpha-2, upper case). An unknown address meets none. The
 * coordinator evaluates it; the helper treats it as unmet unless it is told otherwise. */
export interface PublicIpRequirement {
  type: 'public-ip';
  /** ranges are IPv4 or IPv6 prefixes; empty means any address. */
  ranges: string[];
  blocked?: string[];
  countries?: string[];
  blockedCountries?: string[];
}

/** UserAuthenticationRequirement (coordinator policy files only) is met while the sending
 * system's user signed in at authority (a configured provider's Name or its issuer URL) no more
 * than maxAgeMs ago, is in every one of groups, and is not disabled. The coordinator evaluates
 * it and leaves it out of maps, as it does PublicIp. */
export interface UserAuthenticationRequirement {
  type: 'user-authentication';
  authority: string;
  groups: string[];
  maxAgeMs: number;
}

/** TrustRequirement is a condition a policy needs before it grants anything. */
export type TrustRequirement = ScheduleRequirement | PublicIpRequirement | UserAuthenticationRequirement;

/** Selector names systems: 'tag:NAME' (every system with that tag), a 5-character identity, or
 * in a coordinator's policy file 'user:EMAIL' (the systems that user enrolled by signing in) and
 * 'group:NAME' (those of every user the identity provider puts in the group). */
export type Selector = string;

/** Policy allows its senders to start connections to its receivers as its ACLs say, while it
 * is enabled and all its trust requirements are met. Replies of allowed connections pass. */
export interface Policy {
  name: string;
  senders: Selector[];
  receivers: Selector[];
  acls: Acl[];
  trustRequirements: TrustRequirement[];
  enabled: boolean;
  /** via, in a coordinator's map only: for systems a policy names through a person, the
   * selector and user that put them there, by identity ("group:eng (alice@example.com)"), so
   * `warren why` can name who granted or blocked. */
  via?: Record<string, string>;
}

/** TAG_PREFIX starts a tag selector. */
export const TAG_PREFIX = 'tag:';

/** isTagSelector tells whether a (normalised) selector names a tag. */
export function isTagSelector(s: Selector): boolean {
  return s.startsWith(TAG_PREFIX);
}

/** USER_PREFIX and GROUP_PREFIX start the selectors of people (coordinator policy files only). */
export const USER_PREFIX = 'user:';
export const GROUP_PREFIX = 'group:';

/** isUserSelector tells whether a (normalised) selector names a user. */
export function isUserSelector(s: Selector): boolean {
  return s.startsWith(USER_PREFIX);
}

/** isGroupSelector tells whether a (normalised) selector names a group. */
export function isGroupSelector(s: Selector): boolean {
  return s.startsWith(GROUP_PREFIX);
}

/** tagSelector turns a bare tag name into its selector form. */
export function tagSelector(name: string): Selector {
  return `${TAG_PREFIX}${name}`;
}

/** PolicyMode is how a helper decides: 'allow-all' is a static profile with no Policies key
 * (plain WireGuard behaviour between configured peers); 'policy' is default deny. */
export type PolicyMode = 'allow-all' | 'policy';
