import type { LRUCache } from 'lru-cache';
import { lruCache } from '../lruCache';
import { CredmanError, DependencyUnavailableError } from '../errors';
import { metrics } from '../metrics';
import type { Caller } from '../identity/caller';
import type { StoredToken } from '../store/connectionTokens';
import type { AuthorizationContext } from '../model/runtimeSchemas';
import type { AccessCheck } from './accessCheck';
import { DEFAULT_MIN_VALIDITY_SECONDS, isFresh } from './freshness';
import { ForcedRefreshLimitError, type Obtained, type TokenRefresher } from './refresher';

// The runtime: authorise the caller, answer from memory while the token is fresh, otherwise let
// the refresher obtain one. Concurrent misses for one connection in this process share a single
// flight; across processes the refresher's lease takes over.
//
// A cached token is served only under the grant generation the caller's policies were loaded
// with (AccessCheck reads it with them): a connection re-created or consented again elsewhere
// stops being served the previous grant's token when the policies are next loaded.

export type { AuthorizationContext };

const USE_RECORD_INTERVAL_MS = 3600_000;

export interface TokenOptions {
  minValiditySeconds?: number;
  forceRefresh?: boolean;
}

interface ServeOptions extends TokenOptions {
  /** The caller of a forceRefresh (issuer and subject): its forced-refresh budget. */
  forcedBy?: string;
}

/** A token as served: the context, and its JSON once, since every caller gets the same bytes. */
export interface ServedToken {
  readonly context: AuthorizationContext;
  readonly json: string;
}

interface Entry extends Obtained, ServedToken {}

export class TokenService {
  private readonly cache: LRUCache<string, Entry> = lruCache(100_000);
  private readonly flights = new Map<string, Promise<Entry>>();
  /** When this instance last recorded use of each connection: use is written hourly, not per request. */
  private readonly recordedUse: LRUCache<string, number> = lruCache(100_000);

  private readonly app: Caller;

  constructor(
    private readonly access: AccessCheck,
    private readonly refresher: TokenRefresher,
    private readonly options: { cacheEnabled: boolean; appIdentity: { tenantId: string; objectId: string }; now?: () => number },
  ) {
    const { tenantId, objectId } = options.appIdentity;
    this.app = Object.freeze({ issuer: 'credman:in-process', subject: objectId, tenantId, objectId, roles: [], groups: [] });
  }

  /** The token endpoint: the caller must hold an access policy on the connection. */
  async getToken(caller: Caller, providerId: string, connectionId: string, options: TokenOptions = {}): Promise<ServedToken> {
    const generation = await this.access.require(caller, providerId, connectionId);
    // Who forces a refresh, for its budget (docs/oauth.md, "Forced refreshes").
    const opts: ServeOptions = options.forceRefresh ? { ...options, forcedBy: `${caller.issuer}\u0000${caller.subject}` } : options;
    const entry = await this.serve(providerId, connectionId, opts, generation);
    if (!this.options.cacheEnabled || entry.generation === generation) return entry;
    // The connection has another grant than the one these policies were loaded with (re-created
    // or consented again elsewhere): check the caller against its policies as they are now.
    this.access.forget(providerId, connectionId);
    const now = await this.access.require(caller, providerId, connectionId);
    if (entry.generation === now) return entry;
    const again = await this.serve(providerId, connectionId, opts, now);
    if (again.generation === now) return again;
    throw new DependencyUnavailableError(`Connection '${connectionId}'`); // changing as we look: the client retries
  }

  /**
   * The same, for code of this app running in-process (durable activities) as the app's own
   * identity: it holds a policy on every connection it creates (as API Management's instance
   * identity does), and like any identity it loses access when that policy is deleted.
   */
  async getAuthorizationContext(providerId: string, connectionId: string, opts: TokenOptions = {}): Promise<AuthorizationContext> {
    return (await this.getToken(this.app, providerId, connectionId, opts)).context;
  }

  private async serve(providerId: string, connectionId: string, opts: ServeOptions, generation: string | undefined): Promise<Entry> {
    const minValidity = opts.minValiditySeconds ?? DEFAULT_MIN_VALIDITY_SECONDS;
    const key = `${providerId}/${connectionId}`;
    const now = (this.options.now ?? Date.now)();
    this.recordUse(key, providerId, connectionId, now);
    let cached = this.options.cacheEnabled ? this.cache.get(key) : undefined;
    if (cached && cached.generation !== generation) {
      // Another grant's token: never served again, nor a base for knownVersion.
      this.cache.delete(key);
      cached = undefined;
    }
    // A caller's forced refresh is satisfied by a token obtained within the interval: no storage read.
    if (cached && (!opts.forceRefresh || this.refresher.coalesces(cached.token, now)) && isFresh(cached.token, now, minValidity)) {
      if (opts.forceRefresh) metrics.forcedRefreshesCoalesced++;
      else metrics.tokenCacheHits++;
      return cached;
    }
    const run = () =>
      this.refresher.obtain(providerId, connectionId, {
        minValiditySeconds: minValidity,
        force: opts.forceRefresh === true,
        ...(cached ? { knownVersion: cached.version } : {}),
        ...(opts.forcedBy === undefined ? {} : { forcedBy: opts.forcedBy }),
      });
    const joined = this.flights.has(key);
    try {
      return await this.flight(key, run);
    } catch (err) {
      // Joined another caller's forced refresh that a budget refused: that refusal is not ours.
      if (joined && err instanceof ForcedRefreshLimitError) return this.flight(key, run);
      throw err;
    }
  }

  /** The lifecycle's refresh ahead of need: a forced refresh, unless a newer token than `knownVersion` exists already. */
  async refreshAhead(providerId: string, connectionId: string, knownVersion: number): Promise<void> {
    await this.flight(`${providerId}/${connectionId}`, () => this.refresher.obtain(providerId, connectionId, { minValiditySeconds: DEFAULT_MIN_VALIDITY_SECONDS, force: true, knownVersion }));
  }

  /** Fetches a client-credentials connection's token now (on create or when its parameters change). */
  async fetchNow(providerId: string, connectionId: string): Promise<void> {
    this.forget(providerId, connectionId);
    const key = `${providerId}/${connectionId}`;
    await this.flight(key, () => this.refresher.obtain(providerId, connectionId, { minValiditySeconds: DEFAULT_MIN_VALIDITY_SECONDS, force: true, retryBroken: true }));
  }

  /** Marks the connection as failing with the identity provider's reason (a first fetch that failed). */
  async recordFailure(providerId: string, connectionId: string, code: CredmanError['code'], message: string): Promise<void> {
    await this.refresher.fail(providerId, connectionId, code, message, false);
    this.forget(providerId, connectionId);
  }

  /** Drops what this instance remembers of a connection (deleted, re-consented, policies changed). */
  forget(providerId: string, connectionId: string): void {
    this.cache.delete(`${providerId}/${connectionId}`);
    this.access.forget(providerId, connectionId);
  }

  /** The lifecycle refreshes ahead only connections in use; telling it costs one write per hour. */
  private recordUse(key: string, providerId: string, connectionId: string, now: number): void {
    const last = this.recordedUse.get(key);
    if (last !== undefined && now - last < USE_RECORD_INTERVAL_MS) return;
    this.recordedUse.set(key, now);
    this.refresher.touch(providerId, connectionId, now).catch(() => this.recordedUse.delete(key));
  }

  private async flight(key: string, run: () => Promise<Obtained>): Promise<Entry> {
    const running = this.flights.get(key);
    if (running) return running;
    const p = run()
      .then((got) => {
        const context = contextOf(got.token);
        const entry: Entry = { ...got, context, json: JSON.stringify(context) };
        if (this.options.cacheEnabled) {
          const current = this.cache.get(key);
          if (!current || current.generation !== got.generation || current.version <= got.version) this.cache.set(key, entry);
        }
        return entry;
      })
      .catch((err: unknown) => {
        // A connection that can no longer refresh must stop being served from memory too.
        if (err instanceof CredmanError && err.status === 409) this.cache.delete(key);
        throw err;
      })
      .finally(() => this.flights.delete(key));
    this.flights.set(key, p);
    return p;
  }
}

/** Frozen: one context object is shared by every in-process caller that gets this token. */
function contextOf(t: StoredToken): AuthorizationContext {
  return Object.freeze({
    accessToken: t.accessToken,
    tokenType: t.tokenType,
    ...(t.expiresAt === undefined ? {} : { expiresOn: new Date(t.expiresAt).toISOString() }),
    ...(t.scope === undefined ? {} : { scope: t.scope }),
    claims: Object.freeze(structuredClone(t.claims)),
  });
}
