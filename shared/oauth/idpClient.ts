import http from 'node:http';
import https from 'node:https';
import { CredmanError, ValidationError } from '../errors';
import { lazyAxios } from '../lazyAxios';
import { metrics } from '../metrics';
import { checkDestination, DestinationError, guardedLookup, parseAllowList, type Resolver } from '../net/destination';
import type { ProviderTemplate } from './template';
import type { TokenRequest } from './tokenRequest';
import { readTokenResponse, type TokenSet } from './tokenResponse';

// Every call credman makes to an identity provider (token endpoint, RFC 8414 metadata, RFC 7591
// registration) goes through here: the destination guard of every outbound call (shared/net) on
// each URL and on each connection's DNS answer, one timeout per attempt, no redirects followed, no
// proxy, bounded retries with jittered backoff for transient failures (5xx, 429, timeouts, resets,
// garbled answers), and errors that carry codes, never the request or response body (both hold
// secrets, and a body is whatever the server chose to say).

/**
 * The OAuth `error` code as credman passes it on: RFC 6749 §5.2 codes are short ASCII words, so
 * anything else (free text, a long run, an echoed token) becomes `unknown_error`. The provider's
 * `error_description` is never passed on: it is free text from outside (docs/oauth.md).
 */
export function oauthErrorCode(raw: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(raw) ? raw : 'unknown_error';
}

/** The identity provider refused the grant (RFC 6749 §5.2): retrying will not help. */
export class OAuthGrantError extends Error {
  readonly error: string;
  constructor(
    error: string,
    readonly status: number,
    /** An earlier attempt of the same request may have reached the provider (its answer was lost). */
    readonly afterLostAnswer = false,
  ) {
    const code = oauthErrorCode(error);
    super(`The identity provider answered ${status} ${code}`);
    this.error = code;
    this.name = 'OAuthGrantError';
  }
}

/** What an admin is told to do about a refused identity-provider endpoint. */
const PRIVATE_IDP_HINT = 'A private identity provider must be named in CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS.';

/**
 * An identity-provider URL the destination guard refuses (a 409 ProviderMisconfigured at run
 * time; provider writes turn it into a 400 naming the field: `asValidationError`). Nothing was sent.
 */
export class IdpDestinationError extends CredmanError {
  declare readonly code: 'ProviderMisconfigured';

  constructor(
    readonly problem: DestinationError,
    readonly target?: string,
  ) {
    super('ProviderMisconfigured', 409, `credman does not call this identity-provider endpoint: ${problem.message} ${PRIVATE_IDP_HINT}`, {
      details: [{ code: problem.code, ...(target === undefined ? {} : { target }), message: problem.message }],
    });
  }

  /** The refusal as the admin's 400 of a provider write, naming the field (`target`, else the one checkUrl was given). */
  asValidationError(message: string, opts: { target?: string; prefix?: string } = {}): ValidationError {
    const target = opts.target ?? this.target;
    return new ValidationError(message, [{ code: this.problem.code, ...(target === undefined ? {} : { target }), message: `${opts.prefix ?? ''}${this.problem.message} ${PRIVATE_IDP_HINT}` }]);
  }
}

/** The guard's refusal behind an error of a request (the lookup refused the address), if it was that. */
function refusalOf(err: unknown): DestinationError | undefined {
  const e = err as { cause?: unknown } | undefined;
  return err instanceof DestinationError ? err : e?.cause instanceof DestinationError ? e.cause : undefined;
}

/** The identity provider could not be reached or failed, and kept failing through the retries. */
export class IdpUnavailableError extends Error {
  constructor(
    message: string,
    /** True when the last attempt may have reached the provider (timeout, reset, garbled 2xx). */
    readonly ambiguous: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'IdpUnavailableError';
  }
}

export interface IdpClientOptions {
  timeoutMs: number;
  retries: number;
  /** The destination guard: CREDMAN_ALLOW_PRIVATE_NETWORKS and CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS. */
  destination: { allowPrivateNetworks: boolean; allowedPrivateHosts?: readonly string[]; resolve?: Resolver };
  /** Longest Retry-After credman waits inside one request; longer ones end the retries. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Attempt {
  outcome: 'token' | 'refused' | 'transient';
  token?: TokenSet;
  refusal?: OAuthGrantError;
  reason?: string;
  ambiguous?: boolean;
  retryAfterMs?: number;
}

const TRANSIENT_OAUTH_ERRORS = new Set(['temporarily_unavailable', 'server_error']);

export class IdpClient {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly guard: { allowPrivateNetworks: boolean; allowList: ReturnType<typeof parseAllowList> };

  constructor(private readonly options: IdpClientOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = options.random ?? Math.random;
    const d = options.destination;
    this.guard = { allowPrivateNetworks: d.allowPrivateNetworks, allowList: parseAllowList(d.allowedPrivateHosts ?? []) };
  }

  private readonly http = lazyAxios(() => {
    const lookup = guardedLookup({ ...this.guard, resolve: this.options.destination.resolve });
    return {
      timeout: this.options.timeoutMs,
      // A redirect would be a request to a URL the guard never saw; a 3xx is an answer like any other.
      maxRedirects: 0,
      // A proxy would resolve the name itself, past the guard.
      proxy: false,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxContentLength: 1024 * 1024,
      httpAgent: new http.Agent({ keepAlive: true, lookup }),
      httpsAgent: new https.Agent({ keepAlive: true, lookup }),
    };
  });

  /**
   * Checks an identity-provider URL against the destination guard without calling it (provider
   * writes use it to answer 400 at once); throws IdpDestinationError, with `target` in its detail.
   */
  checkUrl(url: string, target?: string): URL {
    try {
      return checkDestination(url, this.guard);
    } catch (err) {
      if (err instanceof DestinationError) throw new IdpDestinationError(err, target);
      throw err;
    }
  }

  /** Posts a token request; returns the token set or throws OAuthGrantError / IdpUnavailableError. */
  async requestToken(template: ProviderTemplate, request: TokenRequest): Promise<TokenSet> {
    this.checkUrl(request.url);
    const maxRetryAfter = this.options.maxRetryAfterMs ?? 5000;
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      const a = await this.attempt(template, request);
      if (a.outcome === 'token') return a.token as TokenSet;
      if (a.outcome === 'refused') {
        const r = a.refusal as OAuthGrantError;
        throw ambiguous ? new OAuthGrantError(r.error, r.status, true) : r;
      }
      ambiguous ||= a.ambiguous === true;
      const backoff = 200 * 2 ** attempt * (0.5 + this.random() / 2);
      const wait = Math.max(backoff, a.retryAfterMs ?? 0);
      if (attempt >= this.options.retries || wait > maxRetryAfter) {
        throw new IdpUnavailableError(a.reason as string, ambiguous, a.retryAfterMs === undefined ? undefined : a.retryAfterMs / 1000);
      }
      await this.sleep(wait);
    }
  }

  /**
   * A JSON call to an identity provider outside the token endpoint (RFC 8414 metadata, RFC 7591
   * registration): one attempt, same timeout, no redirects, the same guard (IdpDestinationError).
   * Never throws for an HTTP status.
   */
  async json(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, bearer?: string): Promise<{ status: number; body: unknown }> {
    this.checkUrl(url);
    metrics.identityProviderCalls++;
    let res;
    try {
      res = await this.http().request<string>({
        method,
        url,
        headers: {
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
        },
        ...(body === undefined ? {} : { data: JSON.stringify(body) }),
      });
    } catch (err) {
      const refusal = refusalOf(err);
      if (refusal) throw new IdpDestinationError(refusal);
      throw new IdpUnavailableError(`The identity provider could not be reached (${(err as { code?: string }).code ?? 'ERROR'}).`, false);
    }
    let parsed: unknown;
    try {
      parsed = typeof res.data === 'string' && res.data ? JSON.parse(res.data) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed };
  }

  private async attempt(template: ProviderTemplate, request: TokenRequest): Promise<Attempt> {
    metrics.identityProviderCalls++;
    let res;
    try {
      res = await this.http().post<string>(request.url, request.body, {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...request.headers },
      });
    } catch (err) {
      // The lookup refused the address the name resolved to: nothing was sent, and retrying will not help.
      const refusal = refusalOf(err);
      if (refusal) throw new IdpDestinationError(refusal);
      const code = (err as { code?: string }).code ?? 'ERROR';
      const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
      const refused = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
      return {
        outcome: 'transient',
        ambiguous: !refused,
        reason: timedOut ? 'The identity provider did not answer in time.' : `The identity provider could not be reached (${code}).`,
      };
    }
    const status = res.status;
    const header = (name: string): string | undefined => {
      const v: unknown = res.headers[name];
      const first: unknown = Array.isArray(v) ? v[0] : v;
      return typeof first === 'string' ? first : undefined;
    };
    const parsed = readTokenResponse(template, { status, contentType: header('content-type'), body: typeof res.data === 'string' ? res.data : '' });
    const retryAfterMs = parseRetryAfter(header('retry-after'));
    const transientStatus = status >= 500 || status === 429 || status === 408;
    if (parsed.kind === 'token' && status >= 200 && status < 300) return { outcome: 'token', token: parsed.token };
    if (parsed.kind === 'error' && !transientStatus && !TRANSIENT_OAUTH_ERRORS.has(parsed.error)) {
      return { outcome: 'refused', refusal: new OAuthGrantError(parsed.error, status) };
    }
    if (transientStatus || parsed.kind === 'error') {
      return { outcome: 'transient', reason: `The identity provider answered ${status}.`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    if (status >= 200 && status < 300) {
      return { outcome: 'transient', ambiguous: true, reason: 'The identity provider sent a token response credman could not read.' };
    }
    return { outcome: 'refused', refusal: new OAuthGrantError('invalid_response', status) };
  }
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
