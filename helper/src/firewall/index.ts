// The firewall's public surface (README.md here). Parse policies from a profile, compile
// them into a rule set, filter packets with connection tracking, explain verdicts.
export {
  parsePolicies,
  parseTags,
  parsePorts,
  parseSelector,
  normaliseTag,
  POLICY_LIMITS,
  type PolicyIssue,
} from '../../../src-shared/lib/policy-parse.js';
export {
  compile,
  checkNew,
  inRanges,
  coalesce,
  PROTO,
  type CompileInput,
  type DirectionGrants,
  type PeerInfo,
  type PeerRules,
  type PolicyState,
  type RuleSet,
  type SystemInfo,
} from './compile.js';
export { scheduleActive, nextScheduleChange, validTimeZone } from '../../../src-shared/lib/schedule.js';
export { parsePacket, ParsedPacket, MAX_EXT_BYTES, MAX_EXT_HEADERS } from './packet.js';
export type { RoutePrefix } from './scope.js';
export { FlowTable, TIMEOUTS } from './conntrack.js';
export { Firewall, type FirewallOptions } from './filter.js';
export { DROP, PASS, REASONS } from './reasons.js';
export { explain, formatWhy, hostAddressIn, peerIndexOf, type WhyResult, type WhyDirection } from './why.js';
