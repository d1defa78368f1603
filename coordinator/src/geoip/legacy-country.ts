// A reader for the GeoIP Legacy country editions (Debian's geoip-database: GeoIP.dat for IPv4,
// GeoIPv6.dat for IPv6). The file is a binary tree over the address bits, most significant
// first: node n is 6 bytes at n * 6, two 3-byte little-endian records (bit 0, bit 1). A record
// below COUNTRY_BEGIN is the next node; one at or above it is a leaf, whose value minus
// COUNTRY_BEGIN indexes the fixed country table (country-codes.ts). Near the end of the file,
// three 0xFF bytes are followed by one byte naming the edition (1: country, 12: country v6).
//
// The file is untrusted: the edition must be a country one, every node reachable from the root
// is checked once at load to lie inside the tree, and a lookup walks at most one node per
// address bit, so a corrupt file is refused with GeoIpFileError and a lookup never reads outside
// the buffer nor loops.
import { LEGACY_COUNTRY_CODES } from './country-codes.js';

/** COUNTRY_BEGIN is the first record value that is a leaf rather than a node. */
export const COUNTRY_BEGIN = 16776960;
/** EDITION_COUNTRY and EDITION_COUNTRY_V6 are the editions this reader accepts. */
export const EDITION_COUNTRY = 1;
export const EDITION_COUNTRY_V6 = 12;
/** STRUCTURE_INFO_SEARCH is how far from the end the 0xFF 0xFF 0xFF marker may start. */
const STRUCTURE_INFO_SEARCH = 20;
const RECORD_BYTES = 3;
const NODE_BYTES = 2 * RECORD_BYTES;
/** MAX_FILE_BYTES bounds what is read into memory (Debian's IPv6 file is about 8 MB). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** GeoIpFileError says why a file is not a usable legacy country database. */
export class GeoIpFileError extends Error {
  override name = 'GeoIpFileError';
}

/** CountryTree is one loaded country database. */
export interface CountryTree {
  /** family: 4 for the country edition, 6 for the country v6 edition. */
  readonly family: 4 | 6;
  /** info is the database's own description ("GEO-106FREE ... Build"), or "" without one. */
  readonly info: string;
  /** country returns the code at the leaf for the address bits (most significant bit first,
   * `bit(i)` for i from 0), or null for the unknown entry or a walk that finds no leaf. */
  country(bit: (i: number) => number): string | null;
}

/** parseCountryTree checks bytes (named name in errors) and returns the tree. */
export function parseCountryTree(bytes: Uint8Array, name: string): CountryTree {
  if (bytes.length > MAX_FILE_BYTES)
    throw new GeoIpFileError(`${name} has ${bytes.length} bytes, more than a country database (${MAX_FILE_BYTES})`);
  const marker = structureInfo(bytes);
  if (marker === null)
    throw new GeoIpFileError(
      `${name} is not a GeoIP Legacy database (no structure information at its end); give a country edition file such as Debian's /usr/share/GeoIP/GeoIP.dat`,
    );
  const edition = editionOf(bytes[marker + 3]!);
  if (edition !== EDITION_COUNTRY && edition !== EDITION_COUNTRY_V6)
    throw new GeoIpFileError(
      `${name} is a GeoIP Legacy database of edition ${edition}, not a country edition (1 for IPv4, 12 for IPv6); give a country file such as Debian's geoip-database`,
    );
  const family = edition === EDITION_COUNTRY ? 4 : 6;
  // The tree ends before the structure information; no node may reach past it.
  const nodes = Math.floor(marker / NODE_BYTES);
  if (nodes === 0) throw new GeoIpFileError(`${name} holds no tree`);
  checkReachable(bytes, nodes, name);
  const depth = family === 4 ? 32 : 128;
  return {
    family,
    info: databaseInfo(bytes, marker),
    country: (bit) => walk(bytes, depth, bit),
  };
}

/** editionOf undoes the legacy offset: editions written at 106 and above mean the value minus 105. */
function editionOf(b: number): number {
  return b >= 106 ? b - 105 : b;
}

/** structureInfo finds the 0xFF 0xFF 0xFF marker within the last bytes, or null. */
function structureInfo(bytes: Uint8Array): number | null {
  for (let i = 0; i < STRUCTURE_INFO_SEARCH; i++) {
    const at = bytes.length - 4 - i;
    if (at < 0) return null;
    if (bytes[at] === 0xff && bytes[at + 1] === 0xff && bytes[at + 2] === 0xff) return at;
  }
  return null;
}

/** databaseInfo is the printable text after three zero bytes just before the marker. */
function databaseInfo(bytes: Uint8Array, marker: number): string {
  const from = Math.max(0, marker - 100);
  for (let at = marker - 3; at >= from; at--) {
    if (bytes[at] === 0 && bytes[at + 1] === 0 && bytes[at + 2] === 0) {
      const text = Buffer.from(bytes.subarray(at + 3, marker)).toString('latin1');
      return /^[\x20-\x7e]*$/.test(text) ? text : '';
    }
  }
  return '';
}

function record(bytes: Uint8Array, node: number, side: number): number {
  const at = node * NODE_BYTES + side * RECORD_BYTES;
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
}

/** checkReachable visits every node reachable from the root once (an explicit stack, so a
 * deep or cyclic file cannot exhaust the call stack) and refuses a record naming a node past
 * the tree's end. */
function checkReachable(bytes: Uint8Array, nodes: number, name: string): void {
  const seen = new Uint8Array(nodes);
  const stack: number[] = [0];
  seen[0] = 1;
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (let side = 0; side < 2; side++) {
      const next = record(bytes, node, side);
      if (next >= COUNTRY_BEGIN) continue;
      if (next >= nodes)
        throw new GeoIpFileError(
          `${name} is corrupt: node ${node} points at node ${next}, past the end of its ${nodes} nodes; get a fresh copy (Debian: apt-get install --reinstall geoip-database)`,
        );
      if (seen[next] === 0) {
        seen[next] = 1;
        stack.push(next);
      }
    }
  }
}

/** walk follows one record per address bit from the root; checkReachable made every node on
 * the way lie inside the tree, and depth bounds the steps. */
function walk(bytes: Uint8Array, depth: number, bit: (i: number) => number): string | null {
  let node = 0;
  for (let i = 0; i < depth; i++) {
    const next = record(bytes, node, bit(i));
    if (next >= COUNTRY_BEGIN) {
      const index = next - COUNTRY_BEGIN;
      return index === 0 ? null : (LEGACY_COUNTRY_CODES[index] ?? null);
    }
    node = next;
  }
  return null;
}
