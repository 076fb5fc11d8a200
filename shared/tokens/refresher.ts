import { randomUUID } from 'node:crypto';
import { ConnectionNotFoundError, ConnectionStateError, type CredmanError, IdentityProviderError, ProviderNotFoundError, TamperedRecordError, TooManyRequestsError } from '../errors';
import { metrics } from '../metrics';
import { grantConfig, type GrantConfig } from '../oauth/grants';
import { IdpUnavailableError, OAuthGrantError, type IdpClient } from '../oauth/idpClient';
import { clientCredentialsRequest, refreshRequest } from '../oauth/tokenRequest';
import type { TokenSet } from '../oauth/tokenResponse';
import type { ConnectionTokenStore, StoredToken, TokenChange, TokenState } from '../store/connectionTokens';
import type { ProviderStore } from '../store/providers';
import { currentWindow, MemoryBudget, secondsLeft, type Window } from './budget';
import { isFresh, isUsable, storedToken } from './freshness';

// Obtains a new token for a connection exactly once across every instance. The row's ETag is the
// lock: whoever moves the row to "leased by me" calls the identity provider; everyone else waits
// for the row to show the new token (or serves the still-valid one it has). Identity providers
// that rotate refresh tokens revoke the whole family when an old one is replayed, so a second
// concurrent refresh would not just waste a call, it would cost the user a new consent.
//
// A caller's forceRefresh is the one way a caller can make credman call the identity provider
// at will, so it is coalesced and budgeted (docs/oauth.md, "Forced refreshes"): a token obtained
// within `minIntervalMs` (by any instance: the row says when) satisfies it; beyond that it spends
// a budget of its own per caller and connection (this process's memory), per connection (the
// row, counted by the lease write it makes anyway) and per OAuth client (a row of its own).

const POLL_MS = 120;

export interface Obtained {
  token: StoredToken;
  version: number;
  /** The grant generation the token belongs to (grantGenerationOf). */
  generation: string;
}

export interface ObtainRequest {
  minValiditySeconds: number;
  force: boolean;
  /** The token version the caller already has: a forced refresh is satisfied by anything newer. */
  knownVersion?: number;
  /** Try even a connection in Error (an admin just changed its parameters). */
  retryBroken?: boolean;
  /**
   * Set for a caller's forceRefresh (who asked: issuer and subject), not for the lifecycle's or a
   * PUT's forced fetch: coalesced with a recent token and counted against the forced budgets.
   */
  forcedBy?: string;
}

export interface ForceRefreshLimits {
  minIntervalMs: number;
  perCallerPerMinute: number;
  perConnectionPerMinute: number;
  perClientPerMinute: number;
}

export interface RefresherOptions {
  callsPerMinute: number;
  forceRefresh: ForceRefreshLimits;
  /** Longer than an identity-provider call with all its retries, so a lease outlives its holder's call. */
  leaseMs: number;
  /** How long a request waits for another instance's refresh before giving up. */
  waitMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (level: 'info' | 'warn', message: string) => void;
}

export class TokenRefresher {
  readonly owner = randomUUID();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /**
   * Per caller and connection, in this process: a caller spread over instances by a load balancer
   * gets this budget once per instance, but the interval and the connection's and client's
   * budgets, in storage, hold across instances (docs/oauth.md says why this split).
   */
  private readonly callerBudget: MemoryBudget;

  constructor(
    private readonly providers: ProviderStore,
    private readonly tokens: ConnectionTokenStore,
    private readonly idp: IdpClient,
    private readonly options: RefresherOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.callerBudget = new MemoryBudget(options.forceRefresh.perCallerPerMinute);
  }

  /** Whether a token satisfies a caller's forceRefresh for being that recent (any instance may have obtained it). */
  coalesces(token: StoredToken, now: number): boolean {
    return now - token.obtainedAt < this.options.forceRefresh.minIntervalMs;
  }

  async obtain(providerId: string, connectionId: string, req: ObtainRequest): Promise<Obtained> {
    const deadline = this.now() + this.options.waitMs;
    let known = req.knownVersion;
    let callerCharged = false;
    for (;;) {
      const state = await this.tokens.read(providerId, connectionId);
      metrics.tokenStoreReads++;
      if (!state) throw new ConnectionNotFoundError(providerId, connectionId);
      known ??= state.tokenVersion;
      const now = this.now();
      if (!req.retryBroken) refuseBroken(state);
      const t = state.token;
      const fresh = t !== undefined && isFresh(t, now, req.minValiditySeconds);
      if (fresh && (!req.force || state.tokenVersion > known)) return served(state, t);
      // Only a caller's force would make this call: a recent enough token is the answer.
      const forced = fresh && req.forcedBy !== undefined;
      if (forced && this.coalesces(t, now)) {
        metrics.forcedRefreshesCoalesced++;
        return served(state, t);
      }
      if (state.lease && state.lease.owner !== this.owner && state.lease.until > now) {
        // Someone else is refreshing: wait for their result; past the wait, serve what is still valid.
        if (now > deadline) {
          if (isUsable(t, now)) return served(state, t);
          throw new IdentityProviderError('The identity provider is taking too long to issue a token; try again.');
        }
        await this.sleep(POLL_MS * (0.5 + Math.random()));
        continue;
      }
      const window = currentWindow(state.window, now);
      if (window.count >= this.options.callsPerMinute) {
        if (isUsable(t, now)) return served(state, t);
        throw new TooManyRequestsError(`Connection '${connectionId}' reached ${this.options.callsPerMinute} identity-provider calls this minute.`, secondsLeft(window, now));
      }
      let forcedWindow: Window | undefined;
      if (forced) {
        const limits = this.options.forceRefresh;
        forcedWindow = currentWindow(state.forcedWindow, now);
        if (forcedWindow.count >= limits.perConnectionPerMinute) {
          throw forcedLimit(`Connection '${connectionId}' reached ${limits.perConnectionPerMinute} forced refreshes this minute`, secondsLeft(forcedWindow, now));
        }
        if (!callerCharged) {
          const wait = this.callerBudget.take(`${req.forcedBy}\u0000${providerId}/${connectionId}`, now);
          if (wait > 0) throw forcedLimit(`The caller reached ${limits.perCallerPerMinute} forced refreshes of connection '${connectionId}' this minute`, wait);
          callerCharged = true;
        }
      }
      const leased = await this.tokens.update(state, {
        lease: { owner: this.owner, until: now + this.options.leaseMs },
        window: { start: window.start, count: window.count + 1 },
        ...(forcedWindow ? { forcedWindow: { start: forcedWindow.start, count: forcedWindow.count + 1 } } : {}),
      });
      if (!leased) continue; // another instance moved first: look again
      return this.refreshUnderLease(leased, req, forcedWindow !== undefined);
    }
  }

  /** Records that the connection was used (the token service calls it at most hourly). */
  touch(providerId: string, connectionId: string, at: number): Promise<void> {
    return this.tokens.touch(providerId, connectionId, at);
  }

  /**
   * Stores tokens obtained outside a refresh (consent); the connection becomes Connected, under a
   * new grant generation (whoever consented, every instance stops serving the previous grant's
   * token). Returns the createdOn of the row they went into (which lifecycle generation got them).
   * `createdOn`: the connection the consent began for; a connection since deleted and created again
   * under the same id (someone else's, perhaps) is not it, and gets nothing.
   */
  async store(providerId: string, connectionId: string, set: TokenSet, createdOn?: string): Promise<string> {
    const token = storedToken(set, this.now());
    return this.retryUpdate(providerId, connectionId, createdOn, () => ({
      tokens: tokensOf(set, token, this.now()),
      newGrant: true,
      status: 'Connected',
      error: null,
      consentedAt: token.obtainedAt,
    }));
  }

  /** Records a failure on the connection (consent denied, client secret refused…). */
  async fail(providerId: string, connectionId: string, code: CredmanError['code'], message: string, dropTokens: boolean, createdOn?: string): Promise<void> {
    await this.retryUpdate(providerId, connectionId, createdOn, () => ({
      status: 'Error',
      error: { code, message },
      lease: null,
      ...(dropTokens ? { tokens: null } : {}),
    }));
  }

  private async refreshUnderLease(leased: TokenState, req: ObtainRequest, forced: boolean): Promise<Obtained> {
    const { providerId, connectionId } = leased;
    let set: TokenSet;
    try {
      const provider = await this.providers.getWithSecrets(providerId);
      if (!provider) throw new ProviderNotFoundError(providerId);
      const g = leased.grantType === 'ClientCredentials' ? grantConfig(provider, 'clientCredentials', leased) : grantConfig(provider, 'authorizationCode');
      if (forced) await this.chargeClient(leased, g.params.clientId ?? '');
      set = await this.callIdp(leased, g);
    } catch (err) {
      if (err instanceof ForcedRefreshLimitError) {
        await this.tokens.update(leased, { lease: null });
        throw err;
      }
      return this.afterFailure(leased, err);
    }
    const token = storedToken(set, this.now());
    const change: TokenChange = { tokens: tokensOf(set, token, this.now()), lease: null, status: 'Connected', error: null };
    const saved = await this.tokens.update(leased, change);
    if (saved) return { token, version: saved.tokenVersion, generation: leased.generation };
    // The row moved under our lease (an admin PUT, or the lease ran out). Our tokens are the newest
    // the identity provider issued unless someone stored others since: never overwrite theirs.
    for (let i = 0; i < 10; i++) {
      const now = await this.tokens.read(providerId, connectionId);
      if (!now) throw new ConnectionNotFoundError(providerId, connectionId);
      if (now.generation !== leased.generation) {
        // Another grant now (deleted and created again, another consent, new client credentials):
        // ours belongs to no connection any more and must not land in this one. Give the lease
        // back and answer from the connection as it is now.
        if (now.lease?.owner === this.owner) await this.tokens.update(now, { lease: null });
        return this.obtain(providerId, connectionId, { minValiditySeconds: req.minValiditySeconds, force: false, ...(req.retryBroken ? { retryBroken: true } : {}) });
      }
      if (now.tokenVersion !== leased.tokenVersion) {
        if (now.token) return served(now, now.token);
        break;
      }
      const again = await this.tokens.update(now, change);
      if (again) return { token, version: again.tokenVersion, generation: leased.generation };
    }
    this.options.log?.('warn', `refresh: could not store the new token of ${providerId}/${connectionId}; serving it once`);
    return { token, version: leased.tokenVersion + 1, generation: leased.generation };
  }

  /** The OAuth client's forced-refresh budget, across its provider's connections and every instance. */
  private async chargeClient(state: TokenState, clientId: string): Promise<void> {
    const limit = this.options.forceRefresh.perClientPerMinute;
    const wait = await this.tokens.takeClientBudget(state.providerId, clientId, limit, this.now());
    if (wait > 0) throw forcedLimit(`Provider '${state.providerId}' reached ${limit} forced refreshes for its OAuth client this minute`, wait);
  }

  private async callIdp(state: TokenState, g: GrantConfig): Promise<TokenSet> {
    if (state.grantType === 'ClientCredentials') return this.idp.requestToken(g.template, clientCredentialsRequest(g.template, g.params, g.secrets));
    if (!state.refreshToken) {
      throw new ConnectionStateError('ReauthorizationRequired', 'The identity provider issued no refresh token for this connection; consent again to get a new token.');
    }
    return this.idp.requestToken(g.template, refreshRequest(g.template, g.params, g.secrets, state.refreshToken));
  }

  private async afterFailure(leased: TokenState, err: unknown): Promise<Obtained> {
    const { providerId, connectionId } = leased;
    const cc = leased.grantType === 'ClientCredentials';
    if (err instanceof OAuthGrantError && (err.error === 'invalid_grant' || err.error === 'invalid_client' || err.error === 'unauthorized_client')) {
      const code = err.error === 'invalid_grant' && !cc ? 'ReauthorizationRequired' : 'ClientSecretInvalid';
      const lost = err.afterLostAnswer ? ' An earlier attempt was answered unheard (reset or timeout), so the provider may have seen the retry as a replayed refresh token.' : '';
      const message =
        code === 'ReauthorizationRequired'
          ? `The identity provider no longer accepts this connection's grant (${err.error}); a person must consent again.${lost}`
          : `The identity provider refused the client credentials (${err.error}); update the client secret.`;
      this.options.log?.('warn', `refresh: ${providerId}/${connectionId} → ${code} (${err.error})`);
      await this.tokens.update(leased, { status: 'Error', error: { code, message }, lease: null, ...(code === 'ReauthorizationRequired' ? { tokens: null } : {}) });
      throw new ConnectionStateError(code, message);
    }
    // No refresh token and the access token has ended: only consent helps, so say so on the
    // connection (the lifecycle sends the notice) instead of failing each request unseen.
    if (err instanceof ConnectionStateError && !isUsable(leased.token, this.now())) {
      await this.tokens.update(leased, { status: 'Error', error: { code: err.code, message: err.message }, lease: null, tokens: null });
      throw err;
    }
    // A provider row changed outside credman: nothing was sent, and nothing is served until an
    // administrator writes it again (a still-valid token too: the row may say where it goes next).
    if (err instanceof TamperedRecordError) {
      await this.tokens.update(leased, { lease: null });
      throw err;
    }
    // Transient or unexpected: give the lease back, keep every token, serve what is still valid.
    if (err instanceof IdpUnavailableError && err.ambiguous && leased.refreshToken) {
      this.options.log?.('warn', `refresh: ${providerId}/${connectionId}: the provider may have answered unheard (${err.message}); if it rotated the refresh token, the next refresh will say so`);
    }
    await this.tokens.update(leased, { lease: null });
    if (isUsable(leased.token, this.now())) return served(leased, leased.token);
    if (err instanceof IdpUnavailableError) throw new IdentityProviderError(`${err.message} No valid token is cached; try again later.`);
    if (err instanceof OAuthGrantError) {
      // The code only: the provider's description is free text from outside (docs/oauth.md).
      throw new IdentityProviderError(`The identity provider refused the request: ${err.error}.`);
    }
    throw err;
  }

  /** Returns the createdOn of the row changed. */
  private async retryUpdate(providerId: string, connectionId: string, createdOn: string | undefined, change: () => TokenChange): Promise<string> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const state = await this.tokens.read(providerId, connectionId);
      if (!state || (createdOn !== undefined && state.entity.createdOn !== createdOn)) {
        throw new ConnectionNotFoundError(providerId, connectionId, { recreated: true });
      }
      if (await this.tokens.update(state, change())) return state.entity.createdOn;
      await this.sleep(20 * (1 + Math.random()) * (attempt + 1));
    }
    throw new Error('The connection changed too often to be updated.');
  }
}

/** A forced-refresh budget is spent: 429, the caller may ask again without forceRefresh at once. */
export class ForcedRefreshLimitError extends TooManyRequestsError {}

const forcedLimit = (what: string, retryAfterSeconds: number) => new ForcedRefreshLimitError(`${what}; the current token is served without forceRefresh.`, retryAfterSeconds);

const served = (state: TokenState, token: StoredToken): Obtained => ({ token, version: state.tokenVersion, generation: state.generation });

function refuseBroken(state: TokenState): void {
  if (state.status === 'Error' && state.error) {
    const code = state.error.code;
    if (code === 'ReauthorizationRequired' || code === 'ClientSecretInvalid' || code === 'ConsentDenied') {
      throw new ConnectionStateError(code === 'ConsentDenied' ? 'ReauthorizationRequired' : code, state.error.message);
    }
  }
  if (!state.token && state.grantType === 'AuthorizationCode' && !state.refreshToken) {
    throw new ConnectionStateError('ConnectionNotConnected', `Connection '${state.connectionId}' has no token yet: complete consent through a login link first.`);
  }
}

function tokensOf(set: TokenSet, token: StoredToken, now: number): NonNullable<TokenChange['tokens']> {
  return {
    token,
    ...(set.refreshToken === undefined ? {} : { refreshToken: set.refreshToken }),
    ...(set.refreshTokenExpiresIn === undefined ? {} : { refreshExpiresAt: now + set.refreshTokenExpiresIn * 1000 }),
  };
}
