// TunnelControl: connect and disconnect without stopping the helper (POST /v1/connect and
// /v1/disconnect, `warren up` / `warren down`, the app's button). Disconnected means the
// device drops every packet both ways and forgets its sessions, and routes through exit nodes
// are withdrawn so the machine's own routes take over again; the adapter and the overlay
// route stay, so traffic for the overlay is dropped rather than sent out in the clear.
import type { TunnelState } from '../../../src-shared/wire/status.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { Device } from '../wireguard/device/device.js';
import type { ExitRuntime } from './exit-runtime.js';
import type { ChangeNotifier } from './changes.js';

/** TunnelControl owns the tunnel state machine's user-facing state. */
export class TunnelControl {
  private wanted: 'up' | 'down' = 'up';
  private failure: string | null = null;
  device: Device | null = null;
  exit: ExitRuntime | null = null;

  constructor(
    private readonly changes: ChangeNotifier,
    private readonly log: Logger,
  ) {}

  /** state is what status reports: connecting while the helper starts, error after a failure. */
  get state(): TunnelState {
    if (this.failure !== null) return 'error';
    if (this.device === null) return 'connecting';
    return this.wanted === 'up' ? 'connected' : 'disconnected';
  }

  /** error is the reason for the 'error' state, or null. */
  get error(): string | null {
    return this.failure;
  }

  /** attach is called once the device runs. */
  attach(device: Device, exit: ExitRuntime | null): void {
    this.device = device;
    this.exit = exit;
    device.setUp(this.wanted === 'up');
    this.changes.notify();
  }

  /** fail records a fatal condition that status should show. */
  fail(reason: string): void {
    this.failure = reason;
    this.changes.notify();
  }

  /** changed tells event subscribers that something they show moved (e.g. an exit-node toggle). */
  changed(): void {
    this.changes.notify();
  }

  connect(): TunnelState {
    if (this.wanted === 'up') return this.state;
    this.wanted = 'up';
    this.device?.setUp(true);
    this.exit?.routes.resume();
    this.log.info('tunnel connected');
    this.changes.notify();
    return this.state;
  }

  disconnect(): TunnelState {
    if (this.wanted === 'down') return this.state;
    this.wanted = 'down';
    this.device?.setUp(false);
    this.exit?.routes.suspend();
    this.log.info('tunnel disconnected: traffic through the overlay is dropped until `warren up`');
    this.changes.notify();
    return this.state;
  }
}
