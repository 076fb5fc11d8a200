import type { TokenCredential } from '@azure/identity';

/** Returns the caller's platform token (a JWT); called each time a request needs one. */
export type PlatformTokenProvider = () => Promise<string>;

export interface CredmanClientOptions {
  /**
   * The credman app's URL, e.g. `https://credman-abc.azurewebsites.net`; the SDK appends
   * `/api/providers/…`. A path is kept (a gateway in front of credman). `https:` is required
   * unless the host is loopback or `allowInsecureHttp` is set: the request carries a bearer token.
   */
  baseUrl: string | URL;
  /**
   * An Entra ID credential for callers whose access policy names a tenant + object id.
   * Default: `new DefaultAzureCredential()` (the managed identity in Azure), created on first use.
   * Not together with `platformToken`.
   */
  credential?: TokenCredential;
  /** Scope requested from `credential`: `<credman's app ID URI>/.default`. Default `api://credman/.default`. */
  scope?: string;
  /**
   * For callers whose access policy names an `issuer` + `subject` (Kubernetes service account,
   * GitHub Actions job): returns a token from that issuer, read afresh for every request
   * (`fromFile()`, `fromGitHubActions()`, or your own function). Not together with `credential`.
   */
  platformToken?: PlatformTokenProvider;
  /** Default 180 s, as the server: a cached token with less validity left is fetched again. */
  minValidity?: number;
  /** Per attempt, in milliseconds. Default 45,000: longer than the server's own worst case of identity-provider retries. */
  timeoutMs?: number;
  /** Retries after a 429, 502, 503, 504, network error or timeout. Default 3 (so at most 4 attempts). */
  retries?: number;
  /** First backoff step in milliseconds, doubled each retry, jittered. Default 500. */
  retryBaseDelayMs?: number;
  /** Longest backoff step. Default 8,000 ms. */
  retryMaxDelayMs?: number;
  /** A `Retry-After` longer than this (default 30,000 ms) is not waited for: the error is thrown at once, with `retryAfter`. */
  maxRetryAfterMs?: number;
  /** Allows `http:` to a host that is not loopback. */
  allowInsecureHttp?: boolean;
  /** Default: the global `fetch` (Node 20+). */
  fetch?: typeof fetch;
}

export interface ResolvedOptions {
  baseUrl: URL;
  credential?: TokenCredential;
  scope: string;
  platformToken?: PlatformTokenProvider;
  minValidity: number;
  timeoutMs: number;
  retries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  maxRetryAfterMs: number;
  fetch: typeof fetch;
}

export const DEFAULT_SCOPE = 'api://credman/.default';
export const DEFAULT_MIN_VALIDITY = 180;
export const MAX_MIN_VALIDITY = 86_400;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Checks every option once, when the client is built, so bad configuration fails at start-up. */
export function resolveOptions(o: CredmanClientOptions): ResolvedOptions {
  if (!o || typeof o !== 'object') throw new TypeError('CredmanClient options are required');
  let baseUrl: URL;
  try {
    baseUrl = new URL(String(o.baseUrl));
  } catch {
    throw new TypeError('baseUrl must be an absolute URL');
  }
  if (baseUrl.protocol !== 'https:' && baseUrl.protocol !== 'http:') throw new TypeError('baseUrl must be an http(s) URL');
  if (baseUrl.protocol === 'http:' && !LOOPBACK.has(baseUrl.hostname) && !o.allowInsecureHttp) {
    throw new TypeError('baseUrl must use https: (set allowInsecureHttp to send bearer tokens over plain http)');
  }
  if (baseUrl.username || baseUrl.password || baseUrl.search || baseUrl.hash) throw new TypeError('baseUrl must not have credentials, a query or a fragment');
  if (o.credential !== undefined && o.platformToken !== undefined) throw new TypeError('give credential or platformToken, not both');
  if (o.credential !== undefined && typeof o.credential.getToken !== 'function') throw new TypeError('credential must be a TokenCredential');
  if (o.platformToken !== undefined && typeof o.platformToken !== 'function') throw new TypeError('platformToken must be a function returning a token');
  if (o.platformToken !== undefined && o.scope !== undefined) throw new TypeError('scope applies to credential, not to platformToken');
  if (o.scope !== undefined && (typeof o.scope !== 'string' || o.scope.trim() === '')) throw new TypeError('scope must be a non-empty string');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new TypeError('fetch must be a function');
  const fetchImpl = o.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('no global fetch: use Node 20 or later, or pass fetch');
  return {
    baseUrl,
    ...(o.credential ? { credential: o.credential } : {}),
    ...(o.platformToken ? { platformToken: o.platformToken } : {}),
    scope: o.scope ?? DEFAULT_SCOPE,
    minValidity: checkMinValidity(o.minValidity ?? DEFAULT_MIN_VALIDITY, 'minValidity'),
    timeoutMs: int(o.timeoutMs, 45_000, 1, 600_000, 'timeoutMs'),
    retries: int(o.retries, 3, 0, 10, 'retries'),
    retryBaseDelayMs: int(o.retryBaseDelayMs, 500, 0, 60_000, 'retryBaseDelayMs'),
    retryMaxDelayMs: int(o.retryMaxDelayMs, 8_000, 0, 300_000, 'retryMaxDelayMs'),
    maxRetryAfterMs: int(o.maxRetryAfterMs, 30_000, 0, 600_000, 'maxRetryAfterMs'),
    fetch: fetchImpl,
  };
}

export function checkMinValidity(v: unknown, name: string): number {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > MAX_MIN_VALIDITY) {
    throw new TypeError(`${name} must be an integer number of seconds from 0 to ${MAX_MIN_VALIDITY}`);
  }
  return v as number;
}

function int(v: number | undefined, dflt: number, min: number, max: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min || v > max) throw new TypeError(`${name} must be an integer from ${min} to ${max}`);
  return v;
}
