import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { formatKey, generatePrivateKey, isZeroKey, KeyFormatError, parseKey, publicKeyFromPrivate } from './keys.js';

// The X25519 arithmetic (RFC 7748 vectors) is tested with the protocol core (noise/keys.test.ts);
// these tests cover the text forms and errors this module adds.

test('publicKeyFromPrivate matches `wg pubkey`', () => {
  // Computed with wireguard-tools: echo yAnz...Bmk= | wg pubkey
  const priv = parseKey('yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=');
  assert.equal(formatKey(publicKeyFromPrivate(priv)), 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=');
});

test('a generated key\'s public key agrees with `wg pubkey`', (t) => {
  // Clamping and randomness are the protocol core's (noise/keys.test.ts); this checks the
  // text form end to end against the reference tool.
  const a = generatePrivateKey();
  let wgOut: string;
  try {
    wgOut = execFileSync('wg', ['pubkey'], { input: formatKey(a) + '\n', encoding: 'utf8' }).trim();
  } catch {
    t.skip('wireguard-tools (wg) is not installed');
    return;
  }
  assert.equal(formatKey(publicKeyFromPrivate(a)), wgOut);
});

test('parseKey accepts exactly the canonical 44-character form', () => {
  const good = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
  assert.equal(formatKey(parseKey(good)), good);
  const bad = [
    '',
    good.slice(0, 43),                 // no padding
    good + '=',                        // too long
    good.replace('=', 'A'),            // 44 chars, no padding
    'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=', // stray low bits in the last character
    'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D-=', // base64url alphabet
    'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8 g=',
    Buffer.alloc(31).toString('base64'),
    Buffer.alloc(33).toString('base64'),
  ];
  for (const s of bad) {
    assert.throws(() => parseKey(s), KeyFormatError, JSON.stringify(s));
  }
  assert.throws(() => parseKey(42 as unknown as string), KeyFormatError);
});

test('KeyFormatError never repeats the key text', () => {
  const secretish = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBm!=';
  assert.throws(() => parseKey(secretish), (e: Error) => !e.message.includes('yAnz5'));
});

test('formatKey refuses wrong lengths; isZeroKey', () => {
  assert.throws(() => formatKey(Buffer.alloc(31)), KeyFormatError);
  assert.ok(isZeroKey(Buffer.alloc(32)));
  assert.ok(!isZeroKey(generatePrivateKey()));
});
