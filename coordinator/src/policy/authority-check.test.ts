// UserAuthentication's Authority at policy apply: a problem when sign-in is configured and it
// names no provider, a warning when sign-in is not configured, nothing when it names one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorityIssues } from './authority-check.js';
import { parsePolicyFile } from './policy-file.js';

const TEXT = `{
  "Tags": ["server"],
  "Policies": [
    {
      "Name": "eng",
      "Senders": ["group:eng"],
      "Receivers": ["tag:server"],
      "Acls": [{ "Protocol": "any" }],
      "TrustRequirements": [{ "Type": "UserAuthentication", "Authority": "corpp", "MaxAge": "8h" }]
    }
  ]
}`;

test('an Authority naming no --oidc provider is a problem with its line and column, and a likely name', () => {
  const r = parsePolicyFile(TEXT);
  assert.ok(r.ok);
  if (!r.ok) return;
  const { problems, warnings } = authorityIssues(TEXT, r.file, [{ name: 'corp', issuer: 'https://idp.example.com' }]);
  assert.equal(warnings.length, 0);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.key, 'Policies[0].TrustRequirements[0].Authority');
  assert.equal(problems[0]!.line, 9);
  assert.match(problems[0]!.problem, /"corpp" is not a provider of --oidc.*"corp"/);
});

test('an Authority naming a provider by Name (any case) or issuer URL passes', () => {
  for (const authorities of [[{ name: 'CORPP', issuer: 'https://x' }], [{ name: 'other', issuer: 'corpp' }]]) {
    const r = parsePolicyFile(TEXT);
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(authorityIssues(TEXT, r.file, authorities), { problems: [], warnings: [] });
  }
});

test('without sign-in configured an Authority is a warning, not a refusal', () => {
  const r = parsePolicyFile(TEXT);
  assert.ok(r.ok);
  if (!r.ok) return;
  const { problems, warnings } = authorityIssues(TEXT, r.file, null);
  assert.equal(problems.length, 0);
  assert.equal(warnings[0]!.kind, 'unknown-authority');
  assert.match(warnings[0]!.problem, /sign-in is not configured \(serve --oidc FILE\)/);
});
