// AutoTags and user:/group: selectors in the policy file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyFile } from './policy-file.js';
import { autoTagsAfterEdit, autoTagsFor, followAutoTags } from './auto-tags.js';
import { parseSelector } from '../../../src-shared/lib/policy-parse.js';

const file = (over: object): string =>
  JSON.stringify({
    Tags: ['dev', 'server'],
    Policies: [
      {
        Name: 'p',
        Senders: ['group:Eng', 'user:Alice@Example.com'],
        Receivers: ['tag:server'],
        Acls: [{ Protocol: 'any' }],
      },
    ],
    ...over,
  });

test('user: and group: selectors are normalised in a policy file, and AutoTags read', () => {
  const r = parsePolicyFile(
    file({ AutoTags: { 'group:eng': ['tag:dev', 'dev'], 'user:bob@example.com': ['server'] } }),
  );
  assert.ok(r.ok, JSON.stringify(r));
  if (!r.ok) return;
  assert.deepEqual(r.file.policies[0]!.senders, ['group:eng', 'user:alice@example.com']);
  assert.deepEqual(r.file.autoTags, [
    { selector: 'group:eng', tags: ['dev'] },
    { selector: 'user:bob@example.com', tags: ['server'] },
  ]);
  assert.deepEqual(autoTagsFor(r.file.autoTags, 'bob@example.com', ['eng']), {
    tags: ['dev', 'server'],
    via: ['group:eng', 'user:bob@example.com'],
  });
  assert.deepEqual(autoTagsFor(r.file.autoTags, 'carol@example.com', []), { tags: [], via: [] });
});

test('AutoTags problems are refused where they are written', () => {
  const problems = (autoTags: unknown): string[] => {
    const r = parsePolicyFile(file({ AutoTags: autoTags }));
    return r.ok ? [] : r.issues.map((i) => `${i.key}: ${i.problem}`);
  };
  assert.match(
    problems({ 'group:eng': ['tag:ops'] })[0]!,
    /AutoTags\["group:eng"\]\[0\]: tag "ops" is not declared in Tags/,
  );
  assert.match(problems({ 'tag:dev': ['tag:dev'] })[0]!, /must name a group/);
  assert.match(problems({ 'user:nobody': ['tag:dev'] })[0]!, /is not "user:" and an email address/);
  assert.match(problems(['x'])[0]!, /AutoTags: must be an object/);
});

test('a static profile names no users or groups: the helper cannot resolve them', () => {
  const r = parseSelector('group:eng');
  assert.equal(typeof r, 'object');
  assert.match((r as { problem: string }).problem, /only a coordinator's policy file can/);
  assert.equal(parseSelector('GROUP:Eng', { people: true }), 'group:eng');
  assert.equal(typeof parseSelector('group:has space', { people: true }), 'object');
});

test('AutoTags tags follow the groups; tags set by hand stay, also one the groups give as well', () => {
  const s = { tags: ['laptop', 'dev'], autoTags: ['dev'] };
  assert.deepEqual(followAutoTags(s, ['dev']), null, 'nothing changes');
  assert.deepEqual(followAutoTags(s, []), { tags: ['laptop'], autoTags: [] }, 'out of the group: tag:dev goes');
  assert.deepEqual(followAutoTags({ tags: ['laptop'], autoTags: [] }, ['server', 'dev']), {
    tags: ['laptop', 'dev', 'server'],
    autoTags: ['dev', 'server'],
  });
  // laptop was set by hand: AutoTags giving it too do not make it theirs, so it stays after.
  const both = followAutoTags({ tags: ['laptop'], autoTags: [] }, ['laptop']);
  assert.equal(both, null);
  assert.deepEqual(followAutoTags({ tags: ['laptop'] }, []), null, 'a row without autoTags has only hand-set tags');
});

test("an admin's tag edit: an added tag becomes theirs, a removed one is no longer AutoTags'", () => {
  const s = { tags: ['laptop', 'dev', 'ops'], autoTags: ['dev', 'ops'] };
  assert.deepEqual(autoTagsAfterEdit(s, ['laptop', 'dev', 'ops'], ['dev']), ['ops']);
  assert.deepEqual(autoTagsAfterEdit(s, ['laptop', 'dev'], []), ['dev']);
  // Then out of the groups: the tag the admin added stays, the AutoTags one goes.
  assert.deepEqual(followAutoTags({ tags: ['laptop', 'dev', 'ops'], autoTags: ['ops'] }, []), {
    tags: ['laptop', 'dev'],
    autoTags: [],
  });
});
