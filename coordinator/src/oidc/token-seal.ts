// Refresh tokens at rest (oidc/recheck.ts). A refresh token lets whoever holds it ask the
// provider for new tokens as the person (RFC 6749 §1.5), so it is kept only in the coordinator's
// database, never sent to helpers or shown by the admin API, and sealed there with AES-256-GCM
// under a key derived (HKDF-SHA256, RFC 5869) from admin.token: a copy of the database alone
// gives no usable token. Every coordinator on one database shares admin.token
// (store/shared-secrets.ts), so each can open what another sealed. The issuer and subject are
// the associated data, so a sealed token copied onto another person's row does not open.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** MAX_TOKEN_CHARS bounds what is sealed: providers' refresh tokens are far shorter. */
export const MAX_TOKEN_CHARS = 8192;

/** TokenSeal seals and opens refresh tokens with one derived key. */
export class TokenSeal {
  private readonly key: Buffer;

  /** purpose is HKDF's info (RFC 5869 §3.2): each use of sealing gets a key of its own. */
  constructor(adminToken: string, purpose = 'oidc refresh token v1') {
    this.key = Buffer.from(hkdfSync('sha256', adminToken, 'warren', purpose, 32));
  }

  seal(token: string, issuer: string, subject: string): string {
    if (token.length > MAX_TOKEN_CHARS)
      throw new Error(`the refresh token is longer than ${MAX_TOKEN_CHARS} characters`);
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(aad(issuer, subject));
    const body = Buffer.concat([c.update(token, 'utf8'), c.final()]);
    return PREFIX + Buffer.concat([iv, body, c.getAuthTag()]).toString('base64url');
  }

  /** open returns the token, or null when sealed differs from what seal made for this person
   * (another key, another row, damaged). */
  open(sealed: string, issuer: string, subject: string): string | null {
    if (!sealed.startsWith(PREFIX) || sealed.length > 2 * MAX_TOKEN_CHARS) return null;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      d.setAAD(aad(issuer, subject));
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

function aad(issuer: string, subject: string): Buffer {
  return Buffer.from(`${issuer}\n${subject}`, 'utf8');
}
