import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareTunError } from './bare-linux.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`TUNSETIFF: ${code}`), { code });

test("a failure to create warren-wg's device says what to do, in warren-wg's words", () => {
  assert.match(bareTunError('wg0', errno('EBUSY')).message, /wg0 is in use by another program/);
  assert.match(bareTunError('wg0', errno('EINVAL')).message, /exists and is not a TUN device/);
  assert.match(bareTunError('wg0', errno('EPERM')).message, /run warren-wg as root/);
  assert.match(bareTunError('wg0', errno('ENOENT')).message, /\/dev\/net\/tun is missing/);
});
