// Helpers that `warren up` starts detached: the topology does not track them, so a test stops
// them by the pid file `warren up` writes, before the namespaces go.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** stopDetached ends the helper whose pid `warren up` wrote, and waits until it is gone (its
 * cleanup removes the adapter), SIGKILL after 10 s. */
export async function stopDetached(stateDir: string): Promise<void> {
  const file = join(stateDir, 'helper.pid');
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}
