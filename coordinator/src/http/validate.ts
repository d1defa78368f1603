// Shape checks for JSON bodies: each refusal names the field and says what was expected, with
// the control.ts code (unknown-field for extra keys, bad-request for the rest).
import { isObject, typeName } from '../../../src-shared/lib/errors.js';
import { ControlError } from './errors.js';

type Obj = Record<string, unknown>;

/** objectWithKeys checks v is an object whose keys are all in required ∪ optional and that has
 * every required key. */
export function objectWithKeys(
  v: unknown,
  required: readonly string[],
  optional: readonly string[] = [],
  what = 'the body',
): Obj {
  if (!isObject(v)) throw new ControlError('bad-request', `${what} must be a JSON object, not ${typeName(v)}`);
  for (const k of Object.keys(v)) {
    if (!required.includes(k) && !optional.includes(k)) {
      throw new ControlError(
        'unknown-field',
        `${what} has an unknown field ${JSON.stringify(k.slice(0, 60))} (expected ${[...required, ...optional].join(', ')})`,
      );
    }
  }
  for (const k of required) {
    if (!Object.hasOwn(v, k)) throw new ControlError('bad-request', `${what} lacks the field ${JSON.stringify(k)}`);
  }
  return v;
}

/** stringField returns o[key] if it is a string of 1..max characters without control characters. */
export function stringField(o: Obj, key: string, max: number): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ControlError('bad-request', `${key} must be a string, not ${typeName(v)}`);
  if (v.length === 0 || v.length > max)
    throw new ControlError('bad-request', `${key} must have 1 to ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v))
    throw new ControlError('bad-request', `${key} must not contain control characters`);
  return v;
}

/** intField returns o[key] if it is a whole number within [min, max]. */
export function intField(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ControlError('bad-request', `${key} must be a whole number from ${min} to ${max}`);
  }
  return v;
}

/** stringArrayField returns o[key] if it is an array of at most max strings. */
export function stringArrayField(o: Obj, key: string, max: number, maxChars = 253): string[] {
  const v = o[key];
  if (!Array.isArray(v)) throw new ControlError('bad-request', `${key} must be an array, not ${typeName(v)}`);
  if (v.length > max) throw new ControlError('bad-request', `${key} has ${v.length} entries (the limit is ${max})`);
  for (const x of v) {
    if (typeof x !== 'string' || x.length > maxChars)
      throw new ControlError('bad-request', `${key} must hold strings of up to ${maxChars} characters`);
  }
  return v as string[];
}

/** booleanField returns o[key] if it is a boolean. */
export function booleanField(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new ControlError('bad-request', `${key} must be true or false, not ${typeName(v)}`);
  return v;
}
