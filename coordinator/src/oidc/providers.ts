// The configured identity providers, discovered at start (OpenID Connect Discovery 1.0) with
// openid-client. A provider whose discovery fails is unavailable, with the reason, and the
// coordinator still starts: systems keep enrolling with enrolment keys, and `warren login`
// says why signing in does not work. Discovery is retried on the next login attempt, at most
// once a minute, so a provider that was down at start comes back without a restart.
import * as client from 'openid-client';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { OidcConfig, ProviderConfig } from './config.js';

/** DISCOVERY_TIMEOUT_S bounds each request to a provider (seconds, openid-client's unit). */
const DISCOVERY_TIMEOUT_S = 10;
const RETRY_MS = 60_000;

/** OidcSeams are for tests: fetch replaces the requests openid-client makes (a test that
 * tampers with a real provider's token response uses it). */
export interface OidcSeams {
  fetch?: client.CustomFetch;
}

/** Provider is one configured provider and, once discovered, its client configuration. */
export interface Provider {
  cfg: ProviderConfig;
  client: client.Configuration | null;
  /** problem says why the provider is unavailable (null when it is available). */
  problem: string | null;
  triedAt: number;
}

/** OidcProviders holds the providers by name. */
export class OidcProviders {
  readonly list: Provider[];

  constructor(
    readonly config: OidcConfig,
    private readonly log: Logger,
    private readonly seams: OidcSeams = {},
  ) {
    this.list = config.providers.map((cfg) => ({ cfg, client: null, problem: 'not discovered yet', triedAt: 0 }));
  }

  /** redirectUri is the callback registered at every provider. */
  get redirectUri(): string {
    return `${this.config.publicUrl}/v1/oidc/callback`;
  }

  /** discoverAll runs discovery for every provider; failures are logged, never thrown. */
  async discoverAll(now: number): Promise<void> {
    await Promise.all(this.list.map((p) => this.discover(p, now)));
  }

  /** find returns the named provider, or the first when name is ''. */
  find(name: string): Provider | undefined {
    return name === '' ? this.list[0] : this.list.find((p) => p.cfg.name === name);
  }

  /** ready returns p's client configuration, rediscovering a failed provider at most once a
   * minute; it throws with the reason when the provider is unavailable. */
  async ready(p: Provider, now: number): Promise<client.Configuration> {
    if (!p.client && now - p.triedAt >= RETRY_MS) await this.discover(p, now);
    if (!p.client) throw new Error(`the identity provider ${p.cfg.name} is unavailable: ${p.problem ?? 'unknown'}`);
    return p.client;
  }

  private async discover(p: Provider, now: number): Promise<void> {
    p.triedAt = now;
    const cfg = p.cfg;
    try {
      const execute = [client.enableNonRepudiationChecks];
      if (cfg.allowHttp) execute.push(client.allowInsecureRequests);
      const c = await client.discovery(
        new URL(cfg.issuer),
        cfg.clientId,
        { client_secret: cfg.clientSecret, redirect_uris: [this.redirectUri], response_types: ['code'] },
        client.ClientSecretBasic(cfg.clientSecret),
        {
          execute,
          timeout: DISCOVERY_TIMEOUT_S,
          ...(this.seams.fetch ? { [client.customFetch]: this.seams.fetch } : {}),
        },
      );
      p.client = c;
      p.problem = null;
      this.log.info(`OIDC: provider ${cfg.name} at ${cfg.issuer} is ready (callback ${this.redirectUri})`);
    } catch (e) {
      p.client = null;
      p.problem = `discovery of ${cfg.issuer} failed: ${describe(e)}; check Issuer, that the provider is up and reachable from the coordinator`;
      this.log.error(`OIDC: provider ${cfg.name} is unavailable (${p.problem}); enrolment keys still work`);
    }
  }
}

/** describe turns an openid-client or network error into one line. */
export function describe(e: unknown): string {
  if (e instanceof client.ResponseBodyError)
    return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`;
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    const why = cause instanceof Error && cause.message !== e.message ? ` (${cause.message})` : '';
    return `${e.message}${why}`.slice(0, 300);
  }
  return String(e).slice(0, 300);
}
