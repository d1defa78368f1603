// Choosing the adapter's name beside other VPNs. A profile that sets Adapter.Name gets exactly
// that name or a clear error. A profile that leaves it out gets warren0, or, when another
// program already has a link of that name (another Warren in another state directory, a VPN
// that picked the same name), the next free one of warren1..warren15. Crash recovery has run
// before this (daemon/steps.ts), so a link that still has the name is not a leftover of ours;
// the name actually used goes into the state record (daemon/state-file.ts), so crash recovery
// and `warren cleanup` remove that one and never another program's warren0.
import type { TunAdapter, TunConfig, TunDriver } from './index.js';

/** ADAPTER_PREFIX and ADAPTER_MAX_INDEX bound the fallback names: warren0..warren15. */
export const ADAPTER_PREFIX = 'warren';
export const ADAPTER_MAX_INDEX = 15;

/** PickedAdapter is the open adapter and the default names found taken by other programs. */
export interface PickedAdapter {
  tun: TunAdapter;
  /** taken lists the names skipped because another link had them, in order ([] usually). */
  taken: string[];
}

/** openAdapter opens the adapter cfg asks for; without an explicit name, the first free warrenN. */
export async function openAdapter(driver: TunDriver, cfg: TunConfig, explicit: boolean): Promise<PickedAdapter> {
  if (explicit || cfg.name !== `${ADAPTER_PREFIX}0`) return { tun: await openNamed(driver, cfg), taken: [] };
  const taken: string[] = [];
  for (let i = 0; i <= ADAPTER_MAX_INDEX; i++) {
    const name = `${ADAPTER_PREFIX}${i}`;
    if (driver.exists(name)) {
      taken.push(name);
      continue;
    }
    try {
      return { tun: await driver.open({ ...cfg, name }), taken };
    } catch (e) {
      // Another program took the name between the check and the open: try the next one. Any
      // other failure (no /dev/net/tun, no permission, a route) is the same for every name.
      if (!driver.exists(name)) throw e;
      taken.push(name);
    }
  }
  throw new Error(
    `every adapter name from ${ADAPTER_PREFIX}0 to ${ADAPTER_PREFIX}${ADAPTER_MAX_INDEX} is taken by other links ` +
      '(see `ip link`); remove the stale ones, or set Adapter.Name in the profile to a free name',
  );
}

/** openNamed opens the adapter the profile names; a name another link has fails clearly
 * (the kernel's own answer for it, EINVAL or EBUSY, says nothing about why). */
async function openNamed(driver: TunDriver, cfg: TunConfig): Promise<TunAdapter> {
  const existed = !cfg.name.includes('%') && driver.exists(cfg.name);
  try {
    return await driver.open(cfg);
  } catch (e) {
    if (!existed) throw e;
    throw new Error(
      `adapter ${cfg.name} is taken by another program (a link of that name exists: \`ip link show ${cfg.name}\`); ` +
        'stop that program, or set another Adapter.Name in the profile, or leave Adapter.Name out ' +
        `so that the helper takes the first free one of ${ADAPTER_PREFIX}0..${ADAPTER_PREFIX}${ADAPTER_MAX_INDEX}`,
    );
  }
}

/** takenNote is what the log and `warren status` say when a fallback name is in use, or null. */
export function takenNote(taken: readonly string[], used: string): string | null {
  if (taken.length === 0) return null;
  const names = taken.length === 1 ? `${taken[0]} is` : `${taken.join(', ')} are`;
  return (
    `${names} taken by another program (a link of that name exists), so this helper uses ${used}; ` +
    'set Adapter.Name in the profile to choose the name'
  );
}
