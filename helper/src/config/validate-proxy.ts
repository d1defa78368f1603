// The profile's Egress and Ingress sections (docs/profile.md, "Proxy keys"): an HTTP proxy on 127.0.0.1 whose
// destinations are limited by allow/deny lists, and TCP ports published on the virtual address.
import { checkRules } from '../proxy/match.js';
import { childPath, indexPath, isObject, typeName, type Issues } from '../../../src-shared/lib/errors.js';

/** DEFAULT_EGRESS_PORT is where the egress proxy listens without Egress.ListenPort. */
export const DEFAULT_EGRESS_PORT = 3128;
/** MAX_INGRESS bounds the published ports. */
export const MAX_INGRESS = 64;
const EGRESS_KEYS = ['Allow', 'Deny', 'ListenPort'];

/** EgressConfig is the normalised Egress section. */
export interface EgressConfig {
  allow: string[];
  deny: string[];
  listenPort: number;
}

/** ProxyFields are the interpreted Egress and Ingress keys. */
export interface ProxyFields {
  egress: EgressConfig | null;
  ingress: Array<{ listenPort: number }>;
}

function port(v: unknown, path: string, is: Issues): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    is.add(path, `must be a port number 1-65535, not ${typeName(v)}${typeof v === 'number' ? ` ${v}` : ''}`);
    return undefined;
  }
  return v;
}

function stringList(v: unknown, path: string, is: Issues): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    is.add(path, `must be an array of host names, IPs or CIDRs, not ${typeName(v)}`);
    return [];
  }
  return v as string[];
}

/** proxyFields reads Egress and Ingress. */
export function proxyFields(raw: Record<string, unknown>, is: Issues): ProxyFields {
  const out: ProxyFields = { egress: null, ingress: [] };
  if (Object.hasOwn(raw, 'Egress')) {
    const e = raw.Egress;
    if (!isObject(e)) {
      is.add('Egress', `must be an object like {"Allow": ["**.example.com"]}, not ${typeName(e)}`);
    } else {
      for (const k of Object.keys(e))
        if (!EGRESS_KEYS.includes(k)) is.add(childPath('Egress', k), `unknown key (known: ${EGRESS_KEYS.join(', ')})`);
      const allow = stringList(e.Allow, 'Egress.Allow', is);
      const deny = stringList(e.Deny, 'Egress.Deny', is);
      for (const problem of checkRules({ allow, deny })) {
        const at = problem.indexOf(': ');
        is.add(at > 0 ? problem.slice(0, at) : 'Egress', at > 0 ? problem.slice(at + 2) : problem);
      }
      const listenPort = Object.hasOwn(e, 'ListenPort')
        ? port(e.ListenPort, 'Egress.ListenPort', is)
        : DEFAULT_EGRESS_PORT;
      out.egress = { allow, deny, listenPort: listenPort ?? DEFAULT_EGRESS_PORT };
    }
  }
  if (Object.hasOwn(raw, 'Ingress')) {
    const list = raw.Ingress;
    if (!Array.isArray(list)) {
      is.add('Ingress', `must be an array like [{"ListenPort": 3000}], not ${typeName(list)}`);
    } else {
      if (list.length > MAX_INGRESS) is.add('Ingress', `has ${list.length} entries (the limit is ${MAX_INGRESS})`);
      list.slice(0, MAX_INGRESS).forEach((x, i) => {
        const path = indexPath('Ingress', i);
        if (!isObject(x)) return is.add(path, `must be an object like {"ListenPort": 3000}, not ${typeName(x)}`);
        for (const k of Object.keys(x))
          if (k !== 'ListenPort') is.add(childPath(path, k), 'unknown key (known: ListenPort)');
        const p = port(x.ListenPort, childPath(path, 'ListenPort'), is);
        if (p === 53) is.add(childPath(path, 'ListenPort'), "port 53 on the virtual address is Warren's DNS server");
        else if (p !== undefined && out.ingress.some((o) => o.listenPort === p))
          is.add(childPath(path, 'ListenPort'), `port ${p} is listed twice`);
        else if (p !== undefined) out.ingress.push({ listenPort: p });
      });
    }
  }
  return out;
}
