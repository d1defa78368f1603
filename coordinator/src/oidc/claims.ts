// The claim mapping: who the ID token says signed in (OpenID Connect Core §2, §5.1), as an email
// and groups the policy can name. The token's signature, iss, aud, azp, exp, iat and nonce were
// checked by openid-client before this runs; the claims are still the provider's text, so they
// are bounded and normalised here (people.ts) and a token that does not fit is refused, not
// trimmed into something else.
import { emailDomain, normaliseEmail, normaliseGroup } from '../../../src-shared/lib/people.js';
import type { ProviderConfig } from './config.js';

/** CLAIM_LIMITS bound what a token may assert. */
export const CLAIM_LIMITS = { groups: 256, subjectChars: 255, issuerChars: 512, nameChars: 200 } as const;

/** SignedIn is the person an ID token names. */
export interface SignedIn {
  issuer: string;
  subject: string;
  email: string;
  /** name is the `name` claim (OpenID Connect Core §5.1), printable and bounded, or ''. */
  name: string;
  groups: string[];
  /** authTime is the token's auth_time in Unix ms, or null when it has none. */
  authTime: number | null;
  /** droppedGroups counts group names that are not usable in a policy (left out). */
  droppedGroups: number;
}

/** ClaimRefusal says why the claims cannot sign anybody in. */
export class ClaimRefusal extends Error {
  override name = 'ClaimRefusal';
}

/** mapClaims reads the checked ID token's claims with the provider's mapping. */
export function mapClaims(claims: Record<string, unknown>, cfg: ProviderConfig): SignedIn {
  const issuer = claims.iss;
  const subject = claims.sub;
  // OpenID Connect Core §2: sub is at most 255 ASCII characters.
  if (typeof issuer !== 'string' || issuer.length > CLAIM_LIMITS.issuerChars)
    throw new ClaimRefusal('the ID token has no usable iss');
  if (typeof subject !== 'string' || subject === '' || subject.length > CLAIM_LIMITS.subjectChars)
    throw new ClaimRefusal('the ID token has no usable sub');
  const rawEmail = claims[cfg.emailClaim];
  if (typeof rawEmail !== 'string')
    throw new ClaimRefusal(
      `the ID token has no ${cfg.emailClaim} claim; ask for the scope that carries it (Scopes) or set EmailClaim`,
    );
  const email = normaliseEmail(rawEmail);
  if (email === null) throw new ClaimRefusal(`the ID token's ${cfg.emailClaim} is not an email address`);
  // OpenID Connect Core §5.1: a provider may assert an address it has not verified.
  if (cfg.emailClaim === 'email' && claims.email_verified === false)
    throw new ClaimRefusal(`the provider says ${email} is not verified; verify it there first`);
  if (cfg.allowedDomains.length > 0 && !cfg.allowedDomains.includes(emailDomain(email)))
    throw new ClaimRefusal(`${email} is not in a domain allowed to sign in here (${cfg.allowedDomains.join(', ')})`);
  const { groups, dropped } = mapGroups(claims[cfg.groupsClaim], cfg.groupsClaim);
  const authTime =
    typeof claims.auth_time === 'number' && Number.isFinite(claims.auth_time) ? claims.auth_time * 1000 : null;
  return { issuer, subject, email, name: displayName(claims.name), groups, authTime, droppedGroups: dropped };
}

/** displayName keeps a name claim that is only shown (the console, users list): control
 * characters become spaces and it is cut to CLAIM_LIMITS.nameChars; anything else is ''. */
function displayName(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  return raw
    .replace(/\p{Cc}/gu, ' ')
    .trim()
    .slice(0, CLAIM_LIMITS.nameChars);
}

function mapGroups(raw: unknown, claim: string): { groups: string[]; dropped: number } {
  if (raw === undefined || raw === null) return { groups: [], dropped: 0 };
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list)) throw new ClaimRefusal(`the ID token's ${claim} claim is not a list of group names`);
  if (list.length > CLAIM_LIMITS.groups)
    throw new ClaimRefusal(
      `the ID token names ${list.length} groups in ${claim} (the limit is ${CLAIM_LIMITS.groups}); have the provider send only the groups that matter here`,
    );
  const groups = new Set<string>();
  let dropped = 0;
  for (const g of list) {
    const n = typeof g === 'string' ? normaliseGroup(g) : null;
    if (n === null) dropped++;
    else groups.add(n);
  }
  return { groups: [...groups].sort(), dropped };
}
