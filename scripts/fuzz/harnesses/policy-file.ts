// Policy files (coordinator/src/policy/policy-file.ts parsePolicyFile, with the helper's policy
// parser src-shared/lib/policy-parse.ts and json-locate.ts for positions): what an
// administrator applies, and what ends up in every network map.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { parsePolicyFile, POLICY_FILE_LIMITS, type PolicyFile } from '../../../coordinator/src/policy/policy-file.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { CONTROL_PROTOCOL } from '../../../src-shared/wire/control.js';
import type { Policy } from '../../../src-shared/wire/policy.js';
import { parseNetworkMap } from '../../../src-shared/lib/netmap/map-parse.js';

const NETWORK = parseCidr('100.64.0.0/10')!;

const GOOD = {
  Tags: ['dev', 'server', 'exit'],
  Policies: [
    {
      Name: 'dev to servers',
      Senders: ['tag:dev'],
      Receivers: ['tag:server', 'G982V'],
      Acls: [{ Protocol: 'tcp', Ports: '22,443,8000-8100' }, { Protocol: 'ICMP' }, { Protocol: 'any' }],
      TrustRequirements: [
        { Type: 'PublicIp', Ranges: ['203.0.113.0/24'] },
        { Type: 'Schedule', Days: ['Mon', 'friday'], From: '9:00', To: '24:00', TimeZone: 'Europe/London' },
      ],
      Enabled: true,
    },
  ],
  Dns: { Records: [{ Name: 'DB', Targets: ['tag:server', 'G982V'] }] },
  Routes: [{ ExitNode: 'tag:exit', Subnets: ['192.168.1.0/24', '0.0.0.0/0'], Senders: ['tag:dev'] }],
};

/** write turns a parsed file back into policy-file text (the model in PascalCase). */
function write(f: PolicyFile): string {
  const policy = (p: Policy): unknown => ({
    Name: p.name,
    Senders: p.senders,
    Receivers: p.receivers,
    Acls: p.acls.map((a) => ({
      Protocol: a.protocol,
      ...(a.ports.length > 0
        ? { Ports: a.ports.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(',') }
        : {}),
    })),
    TrustRequirements: p.trustRequirements.map((r) =>
      r.type === 'public-ip'
        ? { Type: 'PublicIp', Ranges: r.ranges }
        : r.type === 'user-authentication'
          ? { Type: 'UserAuthentication', Authority: r.authority, Groups: r.groups, MaxAge: `${r.maxAgeMs / 1000}s` }
          : { Type: 'Schedule', Days: r.days, From: r.from, To: r.to, TimeZone: r.timeZone },
    ),
    Enabled: p.enabled,
  });
  return JSON.stringify({
    Tags: f.tags,
    Policies: f.policies.map(policy),
    Dns: { Records: f.dnsRecords.map((r) => ({ Name: r.name, Targets: r.targets })) },
    Routes: f.routes.map((r) => ({ ExitNode: r.exitNode, Subnets: r.subnets, Senders: r.senders })),
  });
}

// inMap puts what the coordinator would publish from the file (enabled policies with public-ip
// requirements taken out and selectors resolved to identities, tags, DNS names, route grants)
// into a map and has the helper's map parser read it: a file the coordinator takes must never
// produce a map every helper refuses.
function inMap(f: PolicyFile): void {
  const policies = f.policies
    .filter((p) => p.enabled)
    .map((p) => ({
      name: p.name,
      senders: ['G982V'],
      receivers: ['ME123'],
      acls: p.acls,
      trustRequirements: p.trustRequirements.filter((r) => r.type !== 'public-ip'),
      enabled: true,
    }));
  const subnets = [...new Set(f.routes.flatMap((r) => r.subnets))].slice(0, 1000);
  const map = {
    protocol: CONTROL_PROTOCOL,
    version: 1,
    generatedAt: 1,
    systemId: 'sys1',
    self: {
      identity: 'ME123',
      name: 'me',
      virtualAddress: '100.64.0.1',
      tags: f.tags.slice(0, 1000),
      dnsNames: f.dnsRecords.map((r) => r.name).slice(0, 1000),
      providesRoutes: subnets,
    },
    virtualNetwork: '100.64.0.0/10',
    dnsZone: 'warren.internal',
    peers: [],
    policies,
    routes: { G982V: subnets },
    routeGrants: { G982V: subnets },
  };
  try {
    parseNetworkMap(JSON.parse(JSON.stringify(map)));
  } catch (e) {
    assert.fail(`the helper refuses a map made from an accepted policy file: ${errorOutcome(e)}`);
  }
}

export const policyFile: HarnessSpec = {
  name: 'policy-file',
  properties: [
    'parsePolicyFile returns a file or its issues and never throws',
    'issues are at most 100 and one more, sorted, each at a line and column inside the text',
    'an accepted file written back as text parses to the same file',
    "what an accepted file puts into a network map passes the helper's map parser",
  ],
  testIterations: 2500,
  create() {
    return {
      seeds: [GOOD, {}, { Tags: ['a'], Policies: [] }].map((s) => Buffer.from(JSON.stringify(s, null, 2))),
      maxLen: 64 * 1024,
      json: true,
      run(input) {
        const text = input.toString('utf8');
        const network = input.length % 2 === 0 ? NETWORK : undefined;
        let r: ReturnType<typeof parsePolicyFile>;
        try {
          r = parsePolicyFile(text, network);
        } catch (e) {
          assert.fail(`parsePolicyFile threw ${errorOutcome(e)}`);
        }
        if (!r.ok) {
          assert.ok(r.issues.length >= 1 && r.issues.length <= POLICY_FILE_LIMITS.reportedIssues + 1);
          const lines = text.split('\n');
          let last = { line: 0, column: 0 };
          for (const i of r.issues) {
            assert.ok(i.line >= 1 && i.line <= lines.length, `issue at line ${i.line} of ${lines.length}`);
            assert.ok(i.column >= 1 && i.column <= lines[i.line - 1]!.length + 1, `issue at column ${i.column}`);
            assert.ok(i.line > last.line || (i.line === last.line && i.column >= last.column), 'issues out of order');
            assert.ok(i.problem !== '');
            last = i;
          }
          const first = r.issues[0]!;
          return `${first.key?.replace(/\[\d+\]/g, '[]') ?? 'file'}:${errorOutcome(new Error(first.problem))}`;
        }
        const again = parsePolicyFile(write(r.file), network);
        assert.ok(again.ok, `an accepted file written back is refused: ${JSON.stringify(again).slice(0, 300)}`);
        assert.deepEqual(again.file, r.file, 'an accepted file written back parses differently');
        inMap(r.file);
        return `ok:policies-${Math.min(r.file.policies.length, 2)}:routes-${Math.min(r.file.routes.length, 2)}`;
      },
    };
  },
};
