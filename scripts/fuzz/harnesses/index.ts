// Every fuzz harness, in the order `npm run fuzz` runs them.
import type { HarnessSpec } from '../engine.js';
import { api } from './api.js';
import { dns } from './dns.js';
import { httpRequest } from './http-request.js';
import { httpResponse } from './http-response.js';
import { innerPacket } from './inner-packet.js';
import { ip } from './ip.js';
import { json } from './json.js';
import { natWire } from './nat.js';
import { netmap } from './netmap.js';
import { packet } from './packet.js';
import { peerTexts } from './peer-texts.js';
import { policyFile } from './policy-file.js';
import { profile } from './profile.js';
import { sse } from './sse.js';
import { uapi } from './uapi.js';
import { noiseCore, wgMessages } from './wireguard.js';

export const HARNESSES: readonly HarnessSpec[] = [
  wgMessages,
  noiseCore,
  natWire,
  dns,
  httpRequest,
  httpResponse,
  api,
  uapi,
  json,
  sse,
  netmap,
  peerTexts,
  profile,
  policyFile,
  ip,
  packet,
  innerPacket,
];

/** harness finds a harness by name, or throws with the list of names. */
export function harness(name: string): HarnessSpec {
  const h = HARNESSES.find((x) => x.name === name);
  if (!h) throw new Error(`no harness ${name}; there are ${HARNESSES.map((x) => x.name).join(', ')}`);
  return h;
}
