// A coordinator's base URL as a helper dials it: http:// or https://, no credentials or
// fragment, at most 256 characters (control.ts COORDINATOR_URL_MAX; the profile's
// Coordinator.Url has the same rule). Used for `serve --advertise-url` and for the list of
// coordinators a signed map carries.

/** COORDINATOR_URL_CHARS is the longest URL accepted. */
export const COORDINATOR_URL_CHARS = 256;

/** coordinatorUrlProblem says what is wrong with text as a coordinator URL, or null. */
export function coordinatorUrlProblem(text: string): string | null {
  if (text.length > COORDINATOR_URL_CHARS) return `is longer than ${COORDINATOR_URL_CHARS} characters`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'is not a URL; give http(s)://HOST:PORT, where helpers reach this coordinator';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (u.username !== '' || u.password !== '' || u.hash !== '' || u.search !== '')
    return 'must be a base URL without credentials, query or fragment';
  return null;
}
