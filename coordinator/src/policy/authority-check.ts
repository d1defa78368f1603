// UserAuthentication's Authority must name an identity provider the coordinator signs people in
// with (`serve --oidc FILE`: a provider's Name or its issuer URL). With sign-in configured, an
// unknown authority can never be met, so the file is refused with the place and the names that
// would do; without it, the file may be applied ahead of configuring sign-in, so it is a warning
// (its grants stay off until people sign in with that authority).
import type { PolicyIssueWire, PolicyWarning } from '../../../src-shared/wire/admin.js';
import { didYouMean, quote } from '../../../src-shared/lib/errors.js';
import { locateJson } from './json-locate.js';
import type { PolicyFile } from './policy-file.js';

/** Authority is a configured provider as Authority may name it. */
export interface Authority {
  name: string;
  issuer: string;
}

/** authorityIssues checks each UserAuthentication's Authority: problems with sign-in configured
 * (authorities not null), warnings without. */
export function authorityIssues(
  text: string,
  file: PolicyFile,
  authorities: readonly Authority[] | null,
): { problems: PolicyIssueWire[]; warnings: PolicyWarning[] } {
  const problems: PolicyIssueWire[] = [];
  const warnings: PolicyWarning[] = [];
  let loc: ReturnType<typeof locateJson> | null = null;
  const names = (authorities ?? []).map((a) => a.name);
  file.policies.forEach((p, i) =>
    p.trustRequirements.forEach((r, j) => {
      if (r.type !== 'user-authentication') return;
      const known = authorities?.some(
        (a) => a.issuer === r.authority || a.name.toLowerCase() === r.authority.toLowerCase(),
      );
      if (known) return;
      const key = `Policies[${i}].TrustRequirements[${j}].Authority`;
      loc ??= locateJson(text);
      const at = { ...loc.locate(key), key };
      if (authorities === null)
        warnings.push({
          ...at,
          kind: 'unknown-authority',
          problem: `${quote(r.authority)}: sign-in is not configured (serve --oidc FILE), so this policy grants nothing until it is and people sign in there`,
        });
      else
        problems.push({
          ...at,
          problem: `${quote(r.authority)} is not a provider of --oidc (name one by its Name or issuer URL: ${names.map((n) => quote(n)).join(', ')})${didYouMean(r.authority, names)}`,
        });
    }),
  );
  return { problems, warnings };
}
