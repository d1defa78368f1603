import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRules, compileRules, ipBytes, RulesError } from './match.js';

test('decide: names, wildcards, case, trailing dots, IPs, CIDRs, IPv6', () => {
  const m = compileRules({
    allow: [
      'api.example.com',
      '*.one.test',
      '**.many.test',
      'Mixed.CASE.test.',
      '192.0.2.7',
      '10.0.0.0/8',
      '2001:db8::/32',
      '[fd00::1]',
      '*.*.*.zz',
      'blocked.example.com',
      '**.corp.test',
    ],
    deny: ['blocked.example.com', 'secret.corp.test', '10.9.0.0/16', 'fd00::2'],
  });
  const cases: [string, boolean, RegExp][] = [
    ['api.example.com', true, /Allow\[0\]/],
    ['API.Example.COM', true, /Allow\[0\]/],
    ['api.example.com.', true, /Allow\[0\]/],
    ['x.api.example.com', false, /not in/],
    ['example.com', false, /not in/],
    ['a.one.test', true, /Allow\[1\]/],
    ['a.b.one.test', false, /not in/],
    ['one.test', false, /not in/],
    ['a.many.test', true, /Allow\[2\]/],
    ['a.b.c.many.test', true, /Allow\[2\]/],
    ['many.test', false, /not in/],
    ['mixed.case.test', true, /Allow\[3\]/],
    ['192.0.2.7', true, /Allow\[4\]/],
    ['192.0.2.7.', true, /Allow\[4\]/],
    ['192.0.2.8', false, /not in/],
    ['10.200.3.4', true, /Allow\[5\]/],
    ['10.9.1.1', false, /Deny\[2\]/],
    ['[2001:db8:1::5]', true, /Allow\[6\]/],
    ['2001:DB8::5', true, /Allow\[6\]/],
    ['2001:db9::5', false, /not in/],
    ['fd00::1', true, /Allow\[7\]/],
    ['[fd00:0:0::1]', true, /Allow\[7\]/],
    ['fd00::2', false, /Deny\[3\]/],
    ['::ffff:10.1.2.3', true, /Allow\[5\]/],
    ['::ffff:10.9.2.3', false, /Deny\[2\]/],
    // An address never matches a name pattern, however many labels it has.
    ['203.0.113.9', false, /not in/],
    ['a.b.c.zz', true, /Allow\[8\]/],
    ['blocked.example.com', false, /Deny\[0\]/],
    ['BLOCKED.example.com.', false, /Deny\[0\]/],
    ['x.corp.test', true, /Allow\[10\]/],
    ['secret.corp.test', false, /Deny\[1\]/],
    ['', false, /invalid/],
    ['bad_host!.test', false, /invalid/],
    ['127.1', false, /invalid/],
    ['0x7f000001', false, /invalid/],
    ['a..b', false, /invalid/],
    ['fe80::1%eth0', false, /invalid/],
    ['x'.repeat(64) + '.test', false, /invalid/],
  ];
  for (const [host, allowed, reason] of cases) {
    const d = m.decide(host);
    assert.equal(d.allowed, allowed, `${host}: ${d.reason}`);
    assert.match(d.reason, reason, host);
  }
});

test('decide: a name never matches a CIDR or IP entry', () => {
  const m = compileRules({ allow: ['0.0.0.0/0', '::/0'], deny: [] });
  const any = compileRules({ allow: ['**'], deny: [] });
  assert.equal(any.decide('example.com').allowed, true);
  assert.equal(any.decide('1.2.3.4').allowed, false);
  assert.equal(any.decide('::1').allowed, false);
  assert.equal(m.decide('example.com').allowed, false);
  assert.equal(m.decide('8.8.8.8').allowed, true);
  assert.equal(m.decide('::1').allowed, true);
});

test('decideAddress: only Deny addresses refuse a resolved address', () => {
  const m = compileRules({ allow: ['**.test'], deny: ['127.0.0.0/8', '::1', '**.test'] });
  const cases: [string, boolean][] = [
    ['127.0.0.1', false],
    ['::ffff:127.0.0.1', false],
    ['::1', false],
    ['192.0.2.1', true],
    ['2001:db8::1', true],
    ['not-an-ip', false],
  ];
  for (const [ip, allowed] of cases) assert.equal(m.decideAddress(ip).allowed, allowed, ip);
});

test('compileRules reports each bad entry with its index', () => {
  const rules = {
    allow: ['ok.test', 'a*b.test', '10.0.0.0/33', 'fd00::/129', 'x/y', '', 'host.123', 'ok.*.test'],
    deny: ['1.2.3.4.5', 'ok.test', 'fe80::1%eth0'],
  };
  const problems = checkRules(rules);
  assert.deepEqual(
    problems.map((p) => p.split(':')[0]),
    [
      'Egress.Allow[1]',
      'Egress.Allow[2]',
      'Egress.Allow[3]',
      'Egress.Allow[4]',
      'Egress.Allow[5]',
      'Egress.Allow[6]',
      'Egress.Deny[0]',
      'Egress.Deny[2]',
    ],
  );
  assert.throws(
    () => compileRules(rules),
    (e: unknown) => e instanceof RulesError && e.problems.length === 8,
  );
  assert.deepEqual(checkRules({ allow: 'x' as unknown as string[], deny: [] }), [
    'Egress.Allow: must be a list of strings',
  ]);
});

test('** patterns stay fast on long names', () => {
  const m = compileRules({ allow: ['**.**.**.**.**.**.**.**.x'], deny: [] });
  const name = Array(120).fill('a').join('.') + '.y';
  const t0 = Date.now();
  assert.equal(m.decide(name).allowed, false);
  assert.ok(Date.now() - t0 < 500);
});

test('ipBytes parses IPv6 forms', () => {
  assert.deepEqual([...(ipBytes('::') ?? [])], Array(16).fill(0));
  assert.deepEqual([...(ipBytes('1::') ?? [])].slice(0, 2), [0, 1]);
  assert.deepEqual([...(ipBytes('64:ff9b::192.0.2.1') ?? [])].slice(12), [192, 0, 2, 1]);
  assert.deepEqual([...(ipBytes('::ffff:1.2.3.4') ?? [])], [1, 2, 3, 4]);
  assert.equal(ipBytes('1.2.3'), null);
});
