// IPv4 text forms used by profiles and the CLI: addresses, CIDR prefixes and endpoints.
// Parsing is strict on purpose: "010.1.1.1" means 8.1.1.1 to some libc parsers and 10.1.1.1
// to others, and "1.2.3" is a shorthand few people mean, so both are refused rather than guessed.

/** Cidr is an IPv4 prefix: addr is the address as an unsigned 32-bit number, bits the length. */
export interface Cidr {
  addr: number;
  bits: number;
}

/** Endpoint is a UDP destination written "a.b.c.d:port". */
export interface Endpoint {
  ip: string;
  port: number;
}

const DECIMAL_0_255 = /^(0|[1-9][0-9]{0,2})$/;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** parseIPv4 returns the address as an unsigned 32-bit number, or null if s is not a.b.c.d. */
export function parseIPv4(s: string): number | null {
  if (typeof s !== 'string' || s.length > 15) return null;
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!DECIMAL_0_255.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** formatIPv4 writes an unsigned 32-bit number as a.b.c.d. */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** prefixMask returns the netmask of a prefix length as an unsigned 32-bit number. */
export function prefixMask(bits: number): number {
  return bits <= 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * parseCidr returns the prefix written "a.b.c.d/n", or null. The address is kept as written,
 * host bits included, so that callers can tell the user about them (see cidrIsCanonical).
 */
export function parseCidr(s: string): Cidr | null {
  if (typeof s !== 'string' || s.length > 18) return null;
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const addr = parseIPv4(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (addr === null || !DECIMAL.test(bitsText) || bitsText.length > 2) return null;
  const bits = Number(bitsText);
  if (bits > 32) return null;
  return { addr, bits };
}

/** cidrNetwork returns the prefix with its host bits cleared. */
export function cidrNetwork(c: Cidr): Cidr {
  return { addr: (c.addr & prefixMask(c.bits)) >>> 0, bits: c.bits };
}

/** cidrIsCanonical tells whether the prefix has no host bits set (10.0.0.0/8, not 10.0.0.1/8). */
export function cidrIsCanonical(c: Cidr): boolean {
  return (c.addr & ~prefixMask(c.bits)) === 0;
}

/** formatCidr writes a prefix as a.b.c.d/n. */
export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.addr)}/${c.bits}`;
}

/** cidrContains tells whether addr (unsigned 32-bit) lies inside the prefix. */
export function cidrContains(c: Cidr, addr: number): boolean {
  return ((c.addr ^ addr) & prefixMask(c.bits)) === 0;
}

/** cidrEquals compares two prefixes after clearing host bits. */
export function cidrEquals(a: Cidr, b: Cidr): boolean {
  return a.bits === b.bits && cidrContains(a, b.addr);
}

/** parseEndpoint returns the endpoint written "a.b.c.d:port" (port 1-65535), or null. */
export function parseEndpoint(s: string): Endpoint | null {
  if (typeof s !== 'string' || s.length > 21) return null;
  const colon = s.lastIndexOf(':');
  if (colon < 0) return null;
  const ipText = s.slice(0, colon);
  const portText = s.slice(colon + 1);
  if (parseIPv4(ipText) === null || !DECIMAL.test(portText) || portText.length > 5) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { ip: ipText, port };
}

/** endpointAddr is an endpoint (valid, as parseEndpoint returns it) with the address as the
 * host-order number sockets use. */
export function endpointAddr(e: Endpoint): { addr: number; port: number } {
  return { addr: parseIPv4(e.ip)!, port: e.port };
}

/** parseEndpointAddr is parseEndpoint with the address as the host-order number sockets use. */
export function parseEndpointAddr(s: string): { addr: number; port: number } | null {
  const e = parseEndpoint(s);
  return e === null ? null : endpointAddr(e);
}

/** formatEndpoint writes an endpoint as a.b.c.d:port. */
export function formatEndpoint(e: Endpoint): string {
  return `${e.ip}:${e.port}`;
}
