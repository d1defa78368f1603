// The data path's on/off switches in the environment (WARREN_OFFLOAD and its parts,
// WARREN_WAKE_TICKER, WARREN_JS_SLICE): one reading for all of them.

/**
 * onOffSwitch reads env[name]: 'on' (or 1/true) is true, 'off' (or 0/false) false, unset or
 * blank undefined (the caller's default). Anything else throws, so that a typo does not
 * silently measure the default.
 */
export function onOffSwitch(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'on' || raw === '1' || raw === 'true') return true;
  if (raw === 'off' || raw === '0' || raw === 'false') return false;
  throw new Error(`${name}=${JSON.stringify(env[name])}: expected 'on' or 'off'`);
}
