// Names of people in policies and sign-in: emails and group names, as `user:` and `group:`
// selectors write them and as the coordinator keeps them from an identity provider's claims.
// One normal form for both, so a policy naming "user:Alice@Example.com" matches the user whose
// provider says "alice@example.com". Both come from untrusted text (a policy file, an ID token),
// so both are bounded.

/** PEOPLE_LIMITS bound emails and group names. */
export const PEOPLE_LIMITS = {
  /** emailChars: RFC 5321 §4.5.3.1.3 limits a path to 256 octets, so an address to 254. */
  emailChars: 254,
  groupChars: 128,
} as const;

// A pragmatic address check, not RFC 5322's grammar: one @, no spaces or control characters, a
// dotted domain. The provider vouches for the address; this only keeps selectors unambiguous.
const EMAIL = /^[^\s@"<>(),;:\\[\]]{1,64}@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

// Group names as providers write them: "eng", "Engineering", "/org/eng" (Keycloak group paths),
// "eng@example.com" (Google groups), GUIDs (Entra ID). Spaces and quotes are left out.
const GROUP = /^[a-z0-9_/][a-z0-9_.\-/@:+]*$/;

/** normaliseEmail returns the lower-case address, or null when s is not one. */
export function normaliseEmail(s: string): string | null {
  if (s.length > PEOPLE_LIMITS.emailChars) return null;
  const lower = s.trim().toLowerCase();
  return EMAIL.test(lower) ? lower : null;
}

/** normaliseGroup returns the lower-case group name, or null when s is not one. */
export function normaliseGroup(s: string): string | null {
  if (s.length > PEOPLE_LIMITS.groupChars || s.length === 0) return null;
  const lower = s.trim().toLowerCase();
  return GROUP.test(lower) ? lower : null;
}

/** emailDomain is the part after the @ of a normalised address. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1);
}
