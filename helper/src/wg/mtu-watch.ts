// The adapter's MTU bounds the padding of outgoing packets (whitepaper §5.4.6), and wg-quick
// or ip(8) set it after warren-wg started. wireguard-go follows it through netlink events;
// here sysfs is read once a second, and only while the interface of that name still has the
// index it had at start: after `ip link set NAME netns X` the name here may belong to another
// interface, and the last known MTU is kept, as wireguard-go keeps it when it loses sight.
import { readFileSync } from 'node:fs';

/** MTU_POLL_MS is how often the MTU is read. */
export const MTU_POLL_MS = 1000;

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'latin1').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** watchMtu calls onMtu with the interface's MTU now and whenever it changes; returns a stop. */
export function watchMtu(name: string, onMtu: (mtu: number) => void, sysfs = '/sys/class/net'): () => void {
  const index = readNumber(`${sysfs}/${name}/ifindex`);
  let last = 0;
  const poll = (): void => {
    if (index === null || readNumber(`${sysfs}/${name}/ifindex`) !== index) return;
    const mtu = readNumber(`${sysfs}/${name}/mtu`);
    if (mtu !== null && mtu !== last) {
      last = mtu;
      onMtu(mtu);
    }
  };
  poll();
  const timer = setInterval(poll, MTU_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
