// The coordinator's Prometheus metrics (text exposition format 0.0.4, served by GET /metrics).
// Each coordinator has its own prom-client Registry, never the process-wide default, so several
// coordinators in one process (the tests) keep separate numbers. Gauges read the registry and the
// watch hub when scraped; counters are bumped where the event happens. Every label has a bounded
// set of values: states, result codes, route patterns and HTTP statuses, never identities or
// text from a request.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ControlErrorCode } from '../../../src-shared/wire/control.js';
import type { WatchHub } from '../http/watch-hub.js';
import type { Registry as SystemRegistry } from '../store/registry.js';

/** EnrolResult is an enrolment's outcome: a new system (active or waiting for approval), the
 * same keys enrolling again, or the error code it was refused with. */
export type EnrolResult = 'enrolled' | 'pending' | 'repeat' | ControlErrorCode;

const SYSTEM_STATES = ['active', 'pending', 'revoked'] as const;

/** MAP_PASS_BUCKETS (seconds): a pass over a few systems takes well under a millisecond, one
 * over thousands tens of milliseconds (docs/coordinator.md "Scale"). */
const MAP_PASS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** CoordinatorMetrics holds one coordinator's metrics and the hooks that update them. */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly mapsPublished: Counter;
  private readonly mapsPushed: Counter;
  private readonly enrolments: Counter<'result'>;
  private readonly adminRequests: Counter<'route' | 'method' | 'status'>;
  private readonly mapPass: Histogram;

  constructor(systems: SystemRegistry, hub: WatchHub) {
    const registers = [this.registry];
    new Gauge({
      name: 'warren_coordinator_systems',
      help: 'Enrolled systems by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = { active: 0, pending: 0, revoked: 0 };
        for (const s of systems.all()) counts[s.state]++;
        for (const state of SYSTEM_STATES) this.set({ state }, counts[state]);
      },
    });
    new Gauge({
      name: 'warren_coordinator_systems_online',
      help: 'Systems with a watch stream open (online).',
      registers,
      collect() {
        this.set(systems.all().filter((s) => s.online).length);
      },
    });
    new Gauge({
      name: 'warren_coordinator_watch_streams',
      help: 'Open watch streams (GET /v1/agent/watch).',
      registers,
      collect() {
        this.set(hub.size);
      },
    });
    new Gauge({
      name: 'warren_coordinator_map_version',
      help: 'The network map version now.',
      registers,
      collect() {
        this.set(systems.version);
      },
    });
    this.mapsPublished = new Counter({
      name: 'warren_coordinator_maps_published_total',
      help: 'Signed maps made because a system’s map changed.',
      registers,
    });
    this.mapsPushed = new Counter({
      name: 'warren_coordinator_maps_pushed_total',
      help: 'Signed maps written (or queued) to an open watch stream.',
      registers,
    });
    this.enrolments = new Counter({
      name: 'warren_coordinator_enrolments_total',
      help: 'Enrolment requests by result: enrolled, pending, repeat, or the error code of the refusal.',
      labelNames: ['result'],
      registers,
    });
    this.adminRequests = new Counter({
      name: 'warren_coordinator_admin_requests_total',
      help: 'Admin API requests by route pattern, method and HTTP status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.mapPass = new Histogram({
      name: 'warren_coordinator_map_pass_seconds',
      help: 'Time taken by each pass that rebuilds and signs the maps that changed.',
      buckets: MAP_PASS_BUCKETS,
      registers,
    });
  }

  /** mapPublished counts a new signed map. */
  mapPublished(): void {
    this.mapsPublished.inc();
  }

  /** mapPushed counts a map written to a watch stream (a change, or the first map on opening). */
  mapPushed(): void {
    this.mapsPushed.inc();
  }

  enrolment(result: EnrolResult): void {
    this.enrolments.inc({ result });
  }

  /** adminRequest counts a request to a registered admin route (route is its pattern, e.g.
   * /v1/admin/systems/:id, so the label set is the route table's). */
  adminRequest(route: string, method: string, status: number): void {
    this.adminRequests.inc({ route, method, status: String(status) });
  }

  mapPassDone(ms: number): void {
    this.mapPass.observe(ms / 1000);
  }

  /** text renders every metric in the text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
