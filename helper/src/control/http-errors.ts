// transportProblem turns a failed connection to the coordinator (node:net, node:tls and DNS
// errors) into one sentence that says what went wrong and what to do. Node's own words
// ("write EPROTO ...:wrong version number", "getaddrinfo ENOTFOUND") name the layer that failed,
// not the mistake the person made, so each common case gets its own sentence; anything else keeps
// Node's message, bounded.

/** TLS verification codes Node reports for a certificate the system does not trust
 * (OpenSSL's X509_V_ERR_* names as node:tls gives them). */
const UNTRUSTED_CERT = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
]);
const EXPIRED_CERT = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** transportProblem describes err, a failure to talk to the coordinator at origin
 * (scheme://host:port), as a whole sentence that names origin. */
export function transportProblem(err: unknown, origin: string): string {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const host = hostOf(origin);
  if (code === 'ECONNREFUSED')
    return (
      `cannot reach the coordinator at ${origin}: nothing accepts connections there (connection refused); ` +
      'check the host and port, and that the coordinator is running (warren-coordinator serve)'
    );
  if (code === 'ENOTFOUND' || code === 'EAI_NONAME' || code === 'EAI_AGAIN' || code === 'EAI_FAIL')
    return (
      `cannot reach the coordinator at ${origin}: the name ${host} does not resolve (DNS${code === 'EAI_AGAIN' ? ', temporary failure' : ''}); ` +
      "check its spelling and this system's DNS, or give the coordinator's IP address"
    );
  if (code === 'ETIMEDOUT' || code === 'timeout')
    return `no answer from the coordinator at ${origin} in time: check that it is reachable from here (firewall, routing) and that the port is right`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return `cannot reach the coordinator at ${origin}: no route to ${host}; check this system's network connection and the coordinator's address`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(message))
    return `the coordinator at ${origin} does not speak TLS; use http:// or check the port`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return (
      `the certificate of ${origin} is not for the name ${host}: use the host name the certificate ` +
      'was issued for, or ask the administrator for the right address'
    );
  if (EXPIRED_CERT.has(code))
    return `the certificate of ${origin} has expired or is not valid yet: check this system's clock, or ask the administrator to renew it`;
  if (UNTRUSTED_CERT.has(code))
    return (
      `the certificate of ${origin} is not signed by an authority this system trusts (${code}): install the ` +
      "coordinator's CA certificate in the system's trust store (or set NODE_EXTRA_CA_CERTS=FILE), or ask the administrator"
    );
  if (code === 'ECONNRESET' || /socket hang up/i.test(message))
    return `the coordinator at ${origin} closed the connection without answering: check that it is a Warren coordinator and that http:// or https:// is right`;
  return `cannot reach the coordinator at ${origin}: ${message.replace(/\s+/g, ' ').trim().slice(0, 300)}`;
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return origin;
  }
}
