import type { TokenCredential } from '@azure/identity';
import { credentialAuth, platformAuth, type CallerAuth } from './callerAuth';
import { CredmanError, CredmanUnavailableError, isRetryableStatus, SdkErrorCode } from './errors';
import { checkMinValidity, resolveOptions, type CredmanClientOptions, type ResolvedOptions } from './options';
import { isAbort, readError, readTokenResponse, type CredmanToken } from './response';
import { backoffMs, sleep } from './retry';
import { TokenCache } from './tokenCache';

export interface GetTokenOptions {
  /** Seconds of validity the token must have left (0–86,400); default the client's `minValidity` (180). Passed to the server. */
  minValidity?: number;
  /** Skip the cache here and make the server fetch a new token from the identity provider. */
  forceRefresh?: boolean;
}

// The API's identifier rule; checking it here also keeps ids like `..` out of the URL path.
const IDENTIFIER = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?$/;

/**
 * Gets access tokens of credman connections: cached until `expiresOn - minValidity` (a token
 * without expiry: for NO_EXPIRY_RECHECK_SECONDS), one HTTP request however many callers ask at
 * once, retried with backoff when credman is busy or away.
 */
export class CredmanClient {
  readonly #o: ResolvedOptions;
  readonly #auth: CallerAuth;
  readonly #cache = new TokenCache();
  readonly #flights = new Map<string, Promise<CredmanToken>>();

  constructor(options: CredmanClientOptions) {
    this.#o = resolveOptions(options);
    const { credential, platformToken, scope } = this.#o;
    if (platformToken) this.#auth = platformAuth(platformToken);
    else {
      let made: TokenCredential | undefined = credential;
      this.#auth = credentialAuth(() => (made ??= defaultCredential()), scope);
    }
  }

  async getToken(providerId: string, connectionId: string, options: GetTokenOptions = {}): Promise<CredmanToken> {
    checkIds(providerId, connectionId);
    const minValidity = options.minValidity === undefined ? this.#o.minValidity : checkMinValidity(options.minValidity, 'minValidity');
    const force = options.forceRefresh === true;
    const key = `${providerId}/${connectionId}`;
    if (!force) {
      const hit = this.#cache.get(key, minValidity);
      if (hit) return copy(hit);
    }
    // Callers asking the same thing at once share one request.
    const flightKey = `${key}?${minValidity}${force ? '!' : ''}`;
    let flight = this.#flights.get(flightKey);
    if (!flight) {
      flight = this.#fetchWithRetries(providerId, connectionId, minValidity, force).finally(() => this.#flights.delete(flightKey));
      this.#flights.set(flightKey, flight);
    }
    try {
      const token = await flight;
      return copy(token);
    } catch (err) {
      // Access withdrawn or connection gone: stop serving what was cached for it.
      if (err instanceof CredmanError && [401, 403, 404].includes(err.status)) this.#cache.delete(key);
      throw err;
    }
  }

  /**
   * Sends a request to the connection's API through credman's token proxy: `path` (with its query)
   * is under the provider's API root, `init` is fetch's. Resolves with the upstream's answer as it
   * came (any status: a 404 of the API is the API's); rejects with a CredmanError when credman
   * itself refused (no policy, consent needed, upstream unreachable …). Not retried: a body may be
   * a stream. No token ever reaches this process.
   */
  async proxy(providerId: string, connectionId: string, path: string, init: RequestInit = {}): Promise<Response> {
    checkIds(providerId, connectionId);
    const url = new URL(this.#o.baseUrl);
    const base = `${url.pathname.replace(/\/+$/, '')}/api/proxy/${providerId}/${connectionId}/`;
    const target = new URL(`${url.origin}${base}${path.replace(/^\/+/, '')}`);
    if (!target.pathname.startsWith(base)) throw new CredmanError(SdkErrorCode.InvalidPath, 'The path leaves the connection.');
    const bearer = await this.#auth.token();
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${bearer}`);
    let res: Response;
    try {
      res = await this.#o.fetch(target, { ...init, headers, redirect: 'manual' });
    } catch (err) {
      if (isAbort(err)) throw err; // the caller's own signal
      const code = (err as { cause?: { code?: unknown } })?.cause?.code;
      throw new CredmanUnavailableError(SdkErrorCode.NetworkError, `credman at ${url.origin} could not be reached${typeof code === 'string' ? ` (${code})` : ''}.`, { cause: err });
    }
    // The upstream's answers carry credman's Via (RFC 9110 §7.6.3); credman's own do not.
    if (/(?:^|,)\s*1\.1 credman\s*$/.test(res.headers.get('via') ?? '')) return res;
    if (res.status === 401) this.#auth.rejected(bearer);
    throw await readError(res);
  }

  async #fetchWithRetries(providerId: string, connectionId: string, minValidity: number, force: boolean): Promise<CredmanToken> {
    const url = new URL(this.#o.baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/providers/${providerId}/connections/${connectionId}/token`;
    url.searchParams.set('minValidity', String(minValidity));
    if (force) url.searchParams.set('forceRefresh', 'true');
    for (let attempt = 0; ; attempt++) {
      try {
        const token = await this.#attempt(url);
        this.#cache.set(`${providerId}/${connectionId}`, token);
        return token;
      } catch (err) {
        if (!(err instanceof CredmanError) || !isRetryable(err) || attempt >= this.#o.retries) throw err;
        const waitMs = err.retryAfter !== undefined ? err.retryAfter * 1000 : backoffMs(attempt, this.#o.retryBaseDelayMs, this.#o.retryMaxDelayMs);
        if (err.retryAfter !== undefined && waitMs > this.#o.maxRetryAfterMs) throw err;
        await sleep(waitMs);
      }
    }
  }

  async #attempt(url: URL): Promise<CredmanToken> {
    const bearer = await this.#auth.token();
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    try {
      const res = await this.#o.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
        redirect: 'manual',
        signal,
      });
      if (res.status === 401) this.#auth.rejected(bearer);
      return await readTokenResponse(res);
    } catch (err) {
      if (err instanceof CredmanError) throw err;
      if (signal.aborted || isAbort(err)) {
        throw new CredmanUnavailableError(SdkErrorCode.Timeout, `credman did not answer within ${this.#o.timeoutMs} ms.`, { cause: err });
      }
      const code = (err as { cause?: { code?: unknown } })?.cause?.code;
      const why = typeof code === 'string' ? ` (${code})` : '';
      throw new CredmanUnavailableError(SdkErrorCode.NetworkError, `credman at ${url.origin} could not be reached${why}.`, { cause: err });
    }
  }
}

function checkIds(providerId: string, connectionId: string): void {
  for (const [name, id] of [
    ['providerId', providerId],
    ['connectionId', connectionId],
  ] as const) {
    if (typeof id !== 'string' || !IDENTIFIER.test(id)) {
      throw new CredmanError(SdkErrorCode.InvalidIdentifier, `The ${name} is not a valid identifier.`);
    }
  }
}

const isRetryable = (err: CredmanError): boolean => isRetryableStatus(err.status) || err.code === SdkErrorCode.NetworkError || err.code === SdkErrorCode.Timeout;

const copy = (t: CredmanToken): CredmanToken => ({ ...t, ...(t.expiresOn ? { expiresOn: new Date(t.expiresOn.getTime()) } : {}), claims: { ...t.claims } });

// Loaded only when used: callers with a platform token never load @azure/identity and MSAL.
function defaultCredential(): TokenCredential {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when used (see above)
  const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
  return new DefaultAzureCredential();
}
