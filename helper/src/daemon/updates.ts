// ProfileUpdates: profile changes (a reload of the file, a network map from the coordinator) are
// applied to the running helper one at a time, in order (daemon/apply.ts does the applying).
import type { Profile } from '../config/schema.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { ApiHttpError } from '../api/server.js';
import { applyProfile } from './apply.js';
import { reloadProfile } from './reload.js';
import type { DaemonState } from './state.js';

/** ProfileUpdates applies profiles to one running helper. */
export class ProfileUpdates {
  private applying: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: DaemonState,
    private readonly log: Logger,
  ) {}

  /** apply brings the helper to next once the changes queued before it are done; it fails
   * with 503 while the device does not run yet. */
  apply(next: Profile): Promise<void> {
    const run = this.applying.then(async () => {
      const { device, policy, exit } = this.state;
      if (device === null || policy === null)
        throw new ApiHttpError(503, 'unavailable', 'the helper is still starting');
      await applyProfile({ device, policy, exit, log: this.log }, this.state.profile, next);
      this.state.profile = next;
      this.state.changes.notify();
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** reload re-reads the profile file (SIGHUP, POST /v1/reload) and says what it did; a
   * refused profile leaves the running one in force and answers 422. */
  async reload(): Promise<string> {
    if (this.state.policy === null) throw new ApiHttpError(503, 'unavailable', 'the helper is still starting');
    if (this.state.profile.coordinator) {
      throw new ApiHttpError(
        409,
        'bad-request',
        'this helper is coordinated: peers and policies come from the coordinator; ' +
          'restart the helper to apply changes to the local profile',
      );
    }
    const r = reloadProfile(this.state.profilePath, this.state.profile);
    if (r.profile) await this.apply(r.profile);
    (r.ok ? this.log.info : this.log.error)(r.message);
    if (!r.ok) throw new ApiHttpError(422, 'bad-request', r.message);
    return r.message;
  }
}
