// Enrolment (POST /v1/enrol, control.ts EnrolRequest): check the request, the proof that the
// agent holds its machine key, and the enrolment key; then create the system, or return the
// existing one when the same keys enrol again (an agent retrying after a lost response).
import {
  CONTROL_LIMITS,
  CONTROL_PROTOCOL,
  enrolProofText,
  type EnrolRequest,
} from '../../../src-shared/wire/control.js';
import { parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';
import { IPV6_MAX_TEXT } from '../../../src-shared/lib/ip/ipv6.js';
import { reportedEndpoint } from '../../../src-shared/lib/ip/underlay.js';
import { KeyFormatError, parseKey } from '../../../src-shared/lib/keys.js';
import { verifyEd25519 } from '../../../src-shared/lib/ed25519.js';
import { hashKey, KEY_REFUSAL_MESSAGES, keyRefusal, looksLikeKey } from '../auth/enrolment-keys.js';
import { ControlError } from '../http/errors.js';
import { sanitiseHostname, uniqueName } from '../policy/names.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import { StoreConstraintError, type SystemRow } from '../store/store.js';
import { randomBytes } from 'node:crypto';
import { intField, objectWithKeys, stringArrayField, stringField } from '../http/validate.js';

const FIELDS = [
  'protocol',
  'enrolmentKey',
  'wireguardPublicKey',
  'machinePublicKey',
  'hostname',
  'ts',
  'proof',
  'endpoints',
] as const;

/** parseEnrolRequest checks the body's shape; it does not check keys or signatures. */
export function parseEnrolRequest(body: unknown): EnrolRequest {
  const o = objectWithKeys(body, FIELDS, [], 'the enrolment request');
  return { ...parseJoinFields(o), enrolmentKey: stringField(o, 'enrolmentKey', 128) };
}

/** JoinFields are what every request that makes a system carries (an enrolment, a sign-in). */
export type JoinFields = Omit<EnrolRequest, 'enrolmentKey'>;

/** parseJoinFields checks the fields of o that every joining request shares: the protocol, the
 * system's two public keys, its hostname and endpoints, and the timestamped proof. */
export function parseJoinFields(o: Record<string, unknown>): JoinFields {
  const protocol = intField(o, 'protocol', 0, 1_000_000);
  if (protocol !== CONTROL_PROTOCOL) {
    throw new ControlError(
      'bad-request',
      `this coordinator speaks control protocol ${CONTROL_PROTOCOL}, the agent ${protocol}; update the older side`,
    );
  }
  return {
    protocol,
    wireguardPublicKey: keyField(o, 'wireguardPublicKey'),
    machinePublicKey: keyField(o, 'machinePublicKey'),
    hostname: stringField(o, 'hostname', CONTROL_LIMITS.hostnameChars),
    ts: intField(o, 'ts', 0, Number.MAX_SAFE_INTEGER),
    proof: stringField(o, 'proof', 128),
    endpoints: parseEndpoints(stringArrayField(o, 'endpoints', CONTROL_LIMITS.endpointsPerSystem, IPV6_MAX_TEXT + 8)),
  };
}

function keyField(o: Record<string, unknown>, key: string): string {
  const v = stringField(o, key, 64);
  try {
    parseKey(v);
  } catch (e) {
    if (e instanceof KeyFormatError) throw new ControlError('bad-request', `${key} ${e.message}`);
    throw e;
  }
  return v;
}

/** parseEndpoints checks "a.b.c.d:port" and "[ipv6]:port" strings, writes them in canonical
 * form and drops duplicates. */
export function parseEndpoints(list: string[]): string[] {
  const out = list.map((e) => {
    const r = reportedEndpoint(e);
    if (typeof r === 'object') throw new ControlError('bad-request', `endpoint ${JSON.stringify(e)} ${r.problem}`);
    return r;
  });
  return [...new Set(out)];
}

/** reEnrol handles an enrolled system enrolling again. With the key that enrolled it (a retry)
 * or a key with the same tags nothing changes and no use is spent. With another key whose tags
 * differ, the key's tags replace the system's and one use is spent, as re-authenticating with a
 * tagged auth key does in other mesh VPNs: a key's tags are what its holder may claim, and that
 * holder could enrol a new system with them anyway. Tags an administrator set by hand are
 * replaced too; the audit log records the change. The approval state stays: an approved system
 * is not held again, a pending one still waits. */
function reEnrol(registry: Registry, existing: LiveSystem, key: { id: string; tags: string[] }): EnrolResult {
  const same = existing.tags.length === key.tags.length && key.tags.every((t) => existing.tags.includes(t));
  if (existing.keyId === key.id || same) return { system: existing, created: false };
  const before = [...existing.tags];
  registry.patch(existing, { tags: [...key.tags], keyId: key.id }, () => registry.store.useKey(key.id));
  return { system: existing, created: false, retaggedFrom: before };
}

/** enrolProofMessage is what the agent signs (control.ts ENROL_SIGNATURE_CONTEXT). */
export function enrolProofMessage(enrolmentKey: string, wireguardPublicKey: string, ts: number): Buffer {
  return Buffer.from(enrolProofText(enrolmentKey, wireguardPublicKey, ts), 'utf8');
}

/** checkProof refuses a stale timestamp or a proof not made with the machine key. */
export function checkProof(req: EnrolRequest, now: number): void {
  if (Math.abs(now - req.ts) > CONTROL_LIMITS.signatureSkewMs) {
    throw new ControlError(
      'clock-skew',
      `the request's timestamp is ${Math.round((req.ts - now) / 1000)} s off the coordinator's clock (at most ${CONTROL_LIMITS.signatureSkewMs / 1000} s allowed); fix the system clock`,
    );
  }
  const sig = Buffer.from(req.proof, 'base64');
  const ok = verifyEd25519(
    Buffer.from(req.machinePublicKey, 'base64'),
    enrolProofMessage(req.enrolmentKey, req.wireguardPublicKey, req.ts),
    sig,
  );
  if (!ok)
    throw new ControlError(
      'bad-signature',
      'the enrolment proof is not a valid signature by machinePublicKey over the enrolment key, WireGuard key and timestamp',
    );
}

/** EnrolResult is the system, whether it is new, and for a re-enrolment that changed its tags,
 * the tags it had before. */
export interface EnrolResult {
  system: LiveSystem;
  created: boolean;
  retaggedFrom?: string[];
}

/** enrol runs the whole enrolment after parseEnrolRequest; created is false for a repeat.
 * onCreated runs inside the transaction that stores a new system (its audit entry). */
export function enrol(
  registry: Registry,
  req: EnrolRequest,
  observedIp: string | null,
  now: number,
  onCreated: (s: SystemRow) => void = () => {},
): EnrolResult {
  checkProof(req, now);
  try {
    return enrolChecked(registry, req, observedIp, now, onCreated);
  } catch (e) {
    // Another coordinator on the same database enrolled these keys a moment ago (an agent
    // retrying there): learn of it, and answer as a repeat.
    if (!(e instanceof StoreConstraintError) || !/^systems_(wg|machine)_key_key$/.test(e.constraint ?? '')) throw e;
    registry.reload(now);
    return enrolChecked(registry, req, observedIp, now, onCreated);
  }
}

function enrolChecked(
  registry: Registry,
  req: EnrolRequest,
  observedIp: string | null,
  now: number,
  onCreated: (s: SystemRow) => void,
): EnrolResult {
  const key = looksLikeKey(req.enrolmentKey) ? registry.store.keyByHash(hashKey(req.enrolmentKey)) : null;
  if (!key) throw new ControlError('key-invalid', KEY_REFUSAL_MESSAGES['key-invalid']);
  const refusal = keyRefusal(key, now);

  const existing = registry.byWireguardKey(req.wireguardPublicKey);
  if (existing) {
    if (existing.state === 'revoked') {
      throw new ControlError('revoked', 'this WireGuard key belongs to a revoked system; make new keys to enrol again');
    }
    if (existing.machineKey !== req.machinePublicKey) {
      throw new ControlError(
        'conflict',
        'this WireGuard key is enrolled with a different machine key; revoke that system first, or make new keys',
      );
    }
    // A retry with the key that enrolled this system (its response was lost) must not fail
    // because that very enrolment used the key's last use.
    const retry = refusal === 'key-used-up' && existing.keyId === key.id;
    if (refusal && !retry) throw new ControlError(refusal, KEY_REFUSAL_MESSAGES[refusal]);
    return reEnrol(registry, existing, key);
  }
  if (refusal) throw new ControlError(refusal, KEY_REFUSAL_MESSAGES[refusal]);
  if (registry.byMachine(req.machinePublicKey)) {
    throw new ControlError(
      'conflict',
      'this machine key is already enrolled with a different WireGuard key; make a new machine key',
    );
  }
  // The registry issues the identity: never one derived from the key, never one issued before.
  const address = registry.allocate();
  const name = uniqueName(sanitiseHostname(req.hostname), (n) => registry.nameTaken(n));
  const listenPort = req.endpoints.length > 0 ? parseIpEndpoint(req.endpoints[0]!)!.port : null;
  const system = registry.insert(
    {
      id: `sys-${randomBytes(12).toString('hex')}`,
      wgKey: req.wireguardPublicKey,
      machineKey: req.machinePublicKey,
      hostname: req.hostname,
      name,
      address,
      tags: [...key.tags],
      dnsNames: [],
      state: key.approval === 'automatic' ? 'active' : 'pending',
      ephemeral: key.ephemeral,
      keyId: key.id,
      createdAt: now,
      lastSeen: now,
      observedIp,
      listenPort,
      reported: req.endpoints,
    },
    now,
    (stored) => {
      registry.store.useKey(key.id);
      onCreated(stored);
    },
  );
  return { system, created: true };
}
