import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { formatPolicyIssues, parsePolicyFile } from './policy-file.js';

const GOOD = `{
  "Tags": ["dev", "server", "exit"],
  "Policies": [
    { "Name": "dev to servers", "Senders": ["tag:dev"], "Receivers": ["tag:server", "G982V"],
      "Acls": [{ "Protocol": "tcp", "Ports": "22,443" }],
      "TrustRequirements": [{ "Type": "PublicIp", "Ranges": ["203.0.113.0/24"] }] }
  ],
  "Dns": { "Records": [ { "Name": "DB", "Targets": ["tag:server", "G982V"] } ] },
  "Routes": [ { "ExitNode": "tag:exit", "Subnets": ["192.168.1.0/24"], "Senders": ["tag:dev"] } ]
}`;

test('a good file parses into the policy model', () => {
  const r = parsePolicyFile(GOOD);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.file.tags, ['dev', 'server', 'exit']);
  assert.equal(r.file.policies.length, 1);
  assert.deepEqual(r.file.policies[0]!.senders, ['tag:dev']);
  assert.deepEqual(r.file.policies[0]!.trustRequirements, [{ type: 'public-ip', ranges: ['203.0.113.0/24'] }]);
  assert.deepEqual(r.file.dnsRecords, [{ name: 'db', targets: ['tag:server', 'G982V'] }]);
  assert.deepEqual(r.file.routes, [{ exitNode: 'tag:exit', subnets: ['192.168.1.0/24'], senders: ['tag:dev'] }]);
});

test('the full tunnel is a valid route even though it contains the overlay', () => {
  const r = parsePolicyFile(GOOD.replace('"192.168.1.0/24"', '"0.0.0.0/0"'), parseCidr('100.64.0.0/10')!);
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.file.routes[0]!.subnets, ['0.0.0.0/0']);
});

test('route subnets may be IPv6: written canonically, ::/0 allowed although it contains the IPv6 overlay', () => {
  const r = parsePolicyFile(
    GOOD.replace('"192.168.1.0/24"', '"FD00:7:0::/64", "::/0", "0.0.0.0/0"'),
    parseCidr('100.64.0.0/10')!,
    parseIpPrefix('fd12:3456:789a::/48')!,
  );
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.file.routes[0]!.subnets, ['fd00:7::/64', '::/0', '0.0.0.0/0']);
});

test('an empty object is a valid (deny everything) file', () => {
  const r = parsePolicyFile('{}');
  assert.ok(r.ok);
  assert.deepEqual(r.file, { tags: [], policies: [], dnsRecords: [], routes: [], autoTags: [] });
});

/** Each case replaces one piece of GOOD and expects a problem reported where `at` is written. */
const BAD: { name: string; from: string; to: string; at: string; want: RegExp }[] = [
  {
    name: 'undeclared tag in a policy',
    from: '"Receivers": ["tag:server"',
    to: '"Receivers": ["tag:servers"',
    at: '"tag:servers"',
    want: /tag "servers" is not declared in Tags/,
  },
  {
    name: 'tag that is not a DNS label',
    from: '"Tags": ["dev",',
    to: '"Tags": ["dev_team", "dev",',
    at: '"dev_team"',
    want: /must be a DNS label/,
  },
  {
    name: 'unknown top-level key',
    from: '"Routes": [',
    to: '"Route": [',
    at: '"Route"',
    want: /Route: unknown key \(did you mean "Routes"\?\)/,
  },
  {
    name: 'helper parser problem',
    from: '"Ports": "22,443"',
    to: '"Ports": "22,70000"',
    at: '"Ports": "22,70000"',
    want: /Ports: "70000": ports go from 1 to 65535/,
  },
  {
    name: 'bad PublicIp range',
    from: '"203.0.113.0/24"',
    to: '"203.0.113.7/24"',
    at: '"203.0.113.7/24"',
    want: /has host bits set; did you mean 203\.0\.113\.0\/24/,
  },
  {
    name: 'bad DNS name',
    from: '"Name": "DB"',
    to: '"Name": "d_b"',
    at: '"Name": "d_b"',
    want: /Dns\.Records\[0\]\.Name: .*not a DNS name/,
  },
  {
    name: 'undeclared tag in DNS targets',
    from: '"Targets": ["tag:server"',
    to: '"Targets": ["tag:db"',
    at: '"tag:db"',
    want: /Targets\[0\]: tag "db" is not declared/,
  },
  {
    name: 'route into the overlay',
    from: '"192.168.1.0/24"',
    to: '"100.64.0.0/16"',
    at: '"100.64.0.0/16"',
    want: /overlaps the virtual network 100\.64\.0\.0\/10/,
  },
  {
    name: 'IPv6 route into the IPv6 overlay',
    from: '"192.168.1.0/24"',
    to: '"192.168.1.0/24", "fd12:3456:789a:7::/64"',
    at: '"fd12:3456:789a:7::/64"',
    want: /overlaps the virtual network fd12:3456:789a::\/48/,
  },
  {
    name: 'IPv6 route with host bits',
    from: '"192.168.1.0/24"',
    to: '"fd00:7::1/64"',
    at: '"fd00:7::1/64"',
    want: /has host bits set; did you mean fd00:7::\/64\?/,
  },
  {
    name: 'route without senders',
    from: ', "Senders": ["tag:dev"] }',
    to: ' }',
    at: '{ "ExitNode"',
    want: /Routes\[0\]\.Senders: is required/,
  },
  {
    name: 'unknown key in a record',
    from: '"Targets"',
    to: '"Target"',
    at: '"Target"',
    want: /unknown key \(did you mean "Targets"\?\)/,
  },
  {
    name: 'JSON syntax error',
    from: '"Tags": ["dev",',
    to: '"Tags": ["dev",,',
    at: ', "server"',
    want: /expected a value/,
  },
  {
    name: 'duplicate key',
    from: '"Dns": {',
    to: '"Tags": [], "Dns": {',
    at: '"Tags": [], "Dns"',
    want: /duplicate key "Tags"/,
  },
];

for (const c of BAD) {
  test(`a bad file is refused whole: ${c.name}`, () => {
    const text = GOOD.replace(c.from, c.to);
    assert.notEqual(text, GOOD, 'the case must change the file');
    const r = parsePolicyFile(text, parseCidr('100.64.0.0/10')!, parseIpPrefix('fd12:3456:789a::/48')!);
    assert.equal(r.ok, false);
    if (r.ok) return;
    const out = formatPolicyIssues('p.json', r.issues);
    assert.match(out, c.want);
    const hit = r.issues.find((i) => c.want.test(`${i.key ?? ''}: ${i.problem}`) || c.want.test(i.problem));
    assert.ok(hit, out);
    const written = text.split('\n')[hit.line - 1]!.slice(hit.column - 1) + '\n';
    assert.ok(
      written.startsWith(c.at),
      `reported at ${hit.line}:${hit.column}, which reads ${JSON.stringify(written.slice(0, 30))}`,
    );
    assert.match(out, new RegExp(`^p\\.json:${hit.line}:${hit.column}: `, 'm'));
  });
}

test('an oversized file is refused before parsing', () => {
  const r = parsePolicyFile(`{"Tags": [${'"a",'.repeat(300_000)}"b"]}`);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.issues[0]!.problem, /the limit is 1048576/);
});

test('many problems are capped with a count of the rest', () => {
  const policies = Array.from(
    { length: 150 },
    (_, i) => `{"Name":"p${i}","Senders":["tag:x"],"Receivers":["tag:x"],"Acls":[]}`,
  );
  const r = parsePolicyFile(`{"Policies":[${policies.join(',')}]}`);
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.issues.length, 101);
  assert.match(r.issues[100]!.problem, /and 200 more problems/);
});
