// Test support (lint keeps production code from importing it), for tests that reach
// `warren ui` with fetch rather than a browser: signIn does with a one-time address what a
// browser does (server.ts, handleOpen): it redeems the code, keeps the session cookie, and
// follows the answer's refresh to the window's address.

/** SignedIn is a session got from a one-time address. */
export interface SignedIn {
  /** appUrl is the window's address, ending in "/". */
  appUrl: string;
  /** cookie is the Cookie header value to send. */
  cookie: string;
  /** setCookie is the Set-Cookie header as the server sent it. */
  setCookie: string;
}

/** signIn redeems oneTimeAddress (GET /open?code=...); it throws with the server's answer if
 * the code is refused. */
export async function signIn(oneTimeAddress: string): Promise<SignedIn> {
  const res = await fetch(oneTimeAddress, { redirect: 'manual' });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${oneTimeAddress}: HTTP ${res.status}: ${body.trim()}`);
  const setCookies = res.headers.getSetCookie();
  if (setCookies.length !== 1) throw new Error(`expected one Set-Cookie, got ${JSON.stringify(setCookies)}`);
  const setCookie = setCookies[0]!;
  const refresh = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(body);
  if (refresh === null) throw new Error(`no refresh to the window in: ${body}`);
  return {
    appUrl: new URL(refresh[1]!, oneTimeAddress).href,
    cookie: setCookie.split(';', 1)[0]!,
    setCookie,
  };
}
