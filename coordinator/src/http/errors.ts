// ControlError carries an HTTP status and a control.ts error code from wherever a request is
// refused to the one place that writes the response.
import type { ControlErrorCode } from '../../../src-shared/wire/control.js';

/** STATUS_OF gives each code its HTTP status. */
export const STATUS_OF: Record<ControlErrorCode, number> = {
  'bad-request': 400,
  'unknown-field': 400,
  'payload-too-large': 413,
  unauthorized: 401,
  'bad-signature': 401,
  replay: 401,
  'clock-skew': 401,
  'key-invalid': 401,
  'key-expired': 403,
  'key-used-up': 403,
  'key-revoked': 403,
  'pending-approval': 409,
  revoked: 403,
  'not-found': 404,
  conflict: 409,
  'policy-invalid': 422,
  'address-space-full': 507,
  'rate-limited': 429,
  'login-refused': 403,
  internal: 500,
};

/** ControlError is a refusal with a code from control.ts and a message for a person. */
export class ControlError extends Error {
  override name = 'ControlError';
  constructor(
    readonly code: ControlErrorCode,
    message: string,
    /** extra fields merged into the error body (e.g. policy issues with positions). */
    readonly extra: Record<string, unknown> = {},
    /** statusOverride replaces the code's usual status (405 for a wrong method). */
    private readonly statusOverride?: number,
  ) {
    super(message);
  }

  get status(): number {
    return this.statusOverride ?? STATUS_OF[this.code];
  }
}
