import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  formatKey,
  generatePrivateKey,
  isZeroKey,
  KeyFormatError,
  parseKey,
  privateKeyObject,
  publicKeyFromPrivate,
  rawPublicKey,
} from './keys.js';

test('publicKeyFromPrivate follows RFC 7748 §6.1', () => {
  const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
  assert.equal(
    publicKeyFromPrivate(alice).toString('hex'),
    '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  );
  assert.throws(() => publicKeyFromPrivate(Buffer.alloc(31)), /31 bytes, expected 32/);
});

test('generatePrivateKey returns fresh clamped keys', () => {
  const a = generatePrivateKey();
  const b = generatePrivateKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  for (const k of [a, b]) {
    assert.equal(k[0]! & 7, 0);
    assert.equal(k[31]! & 0x80, 0);
    assert.equal(k[31]! & 0x40, 0x40);
  }
});

test('publicKeyFromPrivate matches `wg pubkey`', () => {
  // Computed with wireguard-tools: echo yAnz...Bmk= | wg pubkey
  const priv = parseKey('yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=');
  assert.equal(formatKey(publicKeyFromPrivate(priv)), 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=');
});

test("a generated key's public key agrees with `wg pubkey`", (t) => {
  // Checks the text form end to end against the reference tool.
  const a = generatePrivateKey();
  let wgOut: string;
  try {
    wgOut = execFileSync('wg', ['pubkey'], { input: formatKey(a) + '\n', encoding: 'utf8' }).trim();
  } catch (e) {
    // Only a missing program skips: wg refusing our key text is the failure this test looks for.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
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
    good.slice(0, 43), // no padding
    good + '=', // too long
    good.replace('=', 'A'), // 44 chars, no padding
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
  assert.throws(
    () => parseKey(secretish),
    (e: Error) => e instanceof KeyFormatError && !e.message.includes('yAnz5'),
  );
});

test('formatKey refuses wrong lengths; isZeroKey', () => {
  assert.throws(() => formatKey(Buffer.alloc(31)), KeyFormatError);
  assert.ok(isZeroKey(Buffer.alloc(32)));
  assert.ok(!isZeroKey(generatePrivateKey()));
});

test("privateKeyObject leaves no copy of the private key in Node's buffer pool", () => {
  for (let i = 0; i < 50; i++) {
    // Buffer.alloc never comes from the pool, so any copy found there was made by the wrapper.
    const raw = randomFillSync(Buffer.alloc(32));
    const poolBefore = Buffer.allocUnsafe(1).buffer;
    const key = privateKeyObject(raw);
    const poolAfter = Buffer.allocUnsafe(1).buffer;
    assert.deepEqual(rawPublicKey(key), publicKeyFromPrivate(raw), 'the key object holds the key');
    for (const pool of new Set([poolBefore, poolAfter])) {
      assert.equal(Buffer.from(pool).indexOf(raw), -1, `round ${i}: the key's bytes are in the pool`);
    }
  }
});
