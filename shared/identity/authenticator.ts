import type { LRUCache } from 'lru-cache';
import { hash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { UnauthenticatedError } from '../errors';
import type { Settings } from '../settings';
import { SettingsError } from '../settings';
import { lruCache } from '../lruCache';
import { requireRole, type Caller } from './caller';

// Bearer-token authentication for every caller: the same code validates Entra ID tokens, other
// trusted OpenID issuers, and the local dev issuer — there is no bypass.

/** Asymmetric algorithms only: `none` and HMAC (a public key misused as a shared secret) never verify. */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384'] as const;

/** Entra tokens with many groups run to several KB; anything far larger is not worth hashing. */
const MAX_TOKEN_LENGTH = 32 * 1024;

const MESSAGES = {
  missing: 'A bearer token is required.',
  invalid: 'The bearer token is invalid.',
  expired: 'The bearer token has expired.',
} as const;

/** What the authenticator reports; never contains a token or any part of one. */
export type AuthLogEvent =
  { readonly event: 'JwksUnavailable'; readonly issuer: string; readonly jwksUri: string; readonly reason: string } | { readonly event: 'TokenRejected'; readonly reason: string };

export interface CallerAuthenticatorOptions {
  /** Receives JWKS outages (log them: every caller of that issuer gets 401) and rejections. */
  readonly logger?: (event: AuthLogEvent) => void;
  /** Verified tokens remembered until their `exp`; 0 disables the cache. Default 10,000. */
  readonly cacheMaxEntries?: number;
  /** JWKS request timeout. Default 5,000 ms. */
  readonly jwksTimeoutMs?: number;
  /** Least time between JWKS refetches triggered by an unknown `kid`. Default 30,000 ms. */
  readonly jwksCooldownMs?: number;
  /** Clock in ms since the epoch, for tests. */
  readonly now?: () => number;
}

export interface AuthenticatorStats {
  /** Tokens whose signature was checked (a JWKS key was resolved for them). */
  readonly signatureChecks: number;
  /** Tokens answered from the verified-token cache. */
  readonly cacheHits: number;
}

interface TrustedIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audiences: string[];
  /** Entra claims (tid, oid, groups, roles, azp/appid) are believed only from Entra issuers. */
  readonly entra: boolean;
  /** Another issuer's tokens may be people's (its `people` setting); Entra's say so themselves. */
  readonly people: boolean;
  readonly getKey: JWTVerifyGetKey;
}

const ENTRA_HOSTS = new Set(['login.microsoftonline.com', 'sts.windows.net', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.partner.microsoftonline.cn']);

/**
 * An issuer is treated as Entra ID when configured so, or when its URL is an Entra login host.
 * Any other trusted issuer (a Kubernetes cluster, GitHub Actions) could mint a `tid`/`oid`/`roles`
 * claim of its choosing, so such callers are known by `issuer` + `subject` alone.
 */
export function isEntraIssuer(i: { issuer: string; kind?: 'entra' | 'oidc' }): boolean {
  if (i.kind) return i.kind === 'entra';
  try {
    return ENTRA_HOSTS.has(new URL(i.issuer).hostname);
  } catch {
    return false;
  }
}

/** Marks a JWKS outage inside the key resolver, so it is told apart from a bad token. */
class JwksUnavailable extends Error {}

export class CallerAuthenticator {
  private readonly issuers = new Map<string, TrustedIssuer>();
  private readonly cache: VerifiedTokenCache;
  private readonly clockSkewSeconds: number;
  private readonly adminRole: string;
  private readonly connectRole: string;
  private readonly now: () => number;
  private readonly counters = { signatureChecks: 0, cacheHits: 0 };

  constructor(
    auth: Settings['auth'],
    private readonly options: CallerAuthenticatorOptions = {},
  ) {
    checkOptions(auth, options);
    this.clockSkewSeconds = auth.clockSkewSeconds;
    this.adminRole = auth.adminRole;
    this.connectRole = auth.connectRole;
    this.now = options.now ?? Date.now;
    this.cache = new VerifiedTokenCache(options.cacheMaxEntries ?? 10_000);
    for (const i of auth.issuers) {
      // One JWKS per issuer for the life of the process: jose caches its keys and refetches at
      // most once per cooldown when an unknown `kid` appears (key rotation).
      const jwks = createRemoteJWKSet(new URL(i.jwksUri), {
        timeoutDuration: options.jwksTimeoutMs ?? 5_000,
        cooldownDuration: options.jwksCooldownMs ?? 30_000,
      });
      const getKey: JWTVerifyGetKey = async (header, token) => {
        this.counters.signatureChecks++;
        try {
          return await jwks(header, token);
        } catch (err) {
          if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) throw err;
          throw new JwksUnavailable(describe(err), { cause: err });
        }
      };
      this.issuers.set(i.issuer, { issuer: i.issuer, jwksUri: i.jwksUri, audiences: [...i.audiences], entra: isEntraIssuer(i), people: i.people === true, getKey });
    }
  }

  get stats(): AuthenticatorStats {
    return { ...this.counters };
  }

  /** Validates `Authorization: Bearer <jwt>`; every failure is a 401 `Unauthenticated`. */
  async authenticate(authorizationHeader: string | null | undefined): Promise<Caller> {
    const token = bearerToken(authorizationHeader);
    const now = this.now();
    const key = hash('sha256', token, 'base64url');
    const cached = this.cache.get(key, now);
    if (cached) {
      this.counters.cacheHits++;
      return cached;
    }

    const trusted = this.issuerOf(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, trusted.getKey, {
        issuer: trusted.issuer,
        audience: trusted.audiences,
        algorithms: [...ALLOWED_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.clockSkewSeconds,
        currentDate: new Date(now),
      }));
    } catch (err) {
      throw this.rejection(err, trusted);
    }
    if (typeof payload.sub !== 'string' || !payload.sub) throw this.reject('sub_not_a_string', 'invalid');
    const caller = toCaller(payload, trusted);
    // `exp` is required above; the cache never answers at or after it (the skew only widens
    // what a fresh verification accepts).
    this.cache.set(key, caller, (payload.exp as number) * 1000, now);
    return caller;
  }

  /** Throws 403 unless the caller holds the configured admin role. */
  requireAdmin(caller: Caller): void {
    requireRole(caller, this.adminRole);
  }

  isAdmin(caller: Caller): boolean {
    return caller.roles.includes(this.adminRole);
  }

  /** Throws 403 unless the caller holds the admin role or the connect role (connect sessions). */
  requireConnect(caller: Caller): void {
    if (!this.isAdmin(caller)) requireRole(caller, this.connectRole);
  }

  // The unverified `iss` only picks which keys and rules to verify with; jwtVerify checks it again.
  private issuerOf(token: string): TrustedIssuer {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw this.reject('malformed', 'invalid');
    }
    const trusted = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (!trusted) throw this.reject('unknown_issuer', 'invalid');
    return trusted;
  }

  private rejection(err: unknown, trusted: TrustedIssuer): UnauthenticatedError {
    if (err instanceof JwksUnavailable) {
      this.log({ event: 'JwksUnavailable', issuer: trusted.issuer, jwksUri: trusted.jwksUri, reason: err.message });
      return new UnauthenticatedError(MESSAGES.invalid);
    }
    if (err instanceof joseErrors.JWTExpired) return this.reject('expired', 'expired');
    return this.reject(describe(err), 'invalid');
  }

  private reject(reason: string, kind: 'invalid' | 'expired'): UnauthenticatedError {
    this.log({ event: 'TokenRejected', reason });
    return new UnauthenticatedError(MESSAGES[kind]);
  }

  private log(event: AuthLogEvent): void {
    try {
      this.options.logger?.(event);
    } catch {
      // A failing logger must not turn a 401 into a 500.
    }
  }
}

function bearerToken(header: string | null | undefined): string {
  if (!header || !header.trim()) throw new UnauthenticatedError(MESSAGES.missing);
  // RFC 6750 b64token; the scheme name is case-insensitive (RFC 9110).
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match || match[1].length > MAX_TOKEN_LENGTH) throw new UnauthenticatedError(MESSAGES.invalid);
  return match[1];
}

function toCaller(p: JWTPayload, trusted: TrustedIssuer): Caller {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const strings = (v: unknown) => Object.freeze(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  // Frozen: one Caller object is shared by every request that presents the same token.
  if (!trusted.entra) {
    // Client credentials as RFC 9068 (sub = client_id), Auth0 (gty) and Okta (cid = sub) mark them.
    const clientCredentials = (str(p.client_id) !== undefined && p.client_id === p.sub) || p.gty === 'client-credentials' || (str(p.cid) !== undefined && p.cid === p.sub);
    const appOnly = !trusted.people || clientCredentials;
    return Object.freeze({ issuer: trusted.issuer, subject: p.sub as string, roles: strings([]), groups: strings([]), ...(appOnly ? { appOnly: true as const } : {}) });
  }
  const appOnly = p.idtyp === 'app' || str(p.scp) === undefined;
  return Object.freeze({
    issuer: trusted.issuer,
    subject: p.sub as string,
    tenantId: str(p.tid),
    objectId: str(p.oid),
    appId: str(p.azp) ?? str(p.appid),
    roles: strings(p.roles),
    groups: strings(p.groups),
    ...(str(p.name) ? { name: str(p.name) } : {}),
    ...((str(p.preferred_username) ?? str(p.upn)) ? { userName: str(p.preferred_username) ?? str(p.upn) } : {}),
    ...(appOnly ? { appOnly: true as const } : {}),
  });
}

/** A reason for logs: jose's stable code plus, for claim failures, the claim name. */
function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `${err.code}:${err.claim}`;
  if (err instanceof joseErrors.JOSEError) return err.code;
  return err instanceof Error ? err.name : 'unknown';
}

function checkOptions(auth: Settings['auth'], o: CallerAuthenticatorOptions): void {
  const problems: string[] = [];
  if (auth.issuers.length === 0) problems.push('auth.issuers: at least one trusted issuer is required');
  const seen = new Set<string>();
  auth.issuers.forEach((i, n) => {
    if (!i.issuer) problems.push(`auth.issuers[${n}].issuer: required`);
    if (seen.has(i.issuer)) problems.push(`auth.issuers[${n}].issuer: listed twice`);
    seen.add(i.issuer);
    if (!isTrustedJwksUri(i.jwksUri)) {
      problems.push(`auth.issuers[${n}].jwksUri: must be an https URL (http only on loopback)`);
    }
    if (i.audiences.length === 0 || i.audiences.some((a) => !a)) {
      problems.push(`auth.issuers[${n}].audiences: at least one non-empty audience is required`);
    }
  });
  if (!Number.isInteger(auth.clockSkewSeconds) || auth.clockSkewSeconds < 0 || auth.clockSkewSeconds > 300) {
    problems.push('auth.clockSkewSeconds: an integer from 0 to 300');
  }
  if (!auth.adminRole) problems.push('auth.adminRole: required');
  const nonNegativeInt = (v: number | undefined) => v === undefined || (Number.isInteger(v) && v >= 0);
  if (!nonNegativeInt(o.cacheMaxEntries)) problems.push('cacheMaxEntries: a non-negative integer');
  if (!nonNegativeInt(o.jwksTimeoutMs)) problems.push('jwksTimeoutMs: a non-negative integer');
  if (!nonNegativeInt(o.jwksCooldownMs)) problems.push('jwksCooldownMs: a non-negative integer');
  if (problems.length) throw new SettingsError(problems);
}

// Keys fetched over plain http could be swapped by anyone on the path; only the local dev
// issuer, on this machine, may use it.
function isTrustedJwksUri(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/**
 * Verified tokens by sha256 of the exact token (the token itself is not kept), least recently
 * used evicted first. Saves the ~180 µs signature check per request on the warm path, as
 * Envoy's jwt_cache_config does.
 */
class VerifiedTokenCache {
  // Expiry is checked against the authenticator's clock (injectable), not lru-cache's own TTL.
  private readonly entries: LRUCache<string, { caller: Caller; expiresAtMs: number }> | undefined;

  constructor(maxEntries: number) {
    this.entries = maxEntries > 0 ? lruCache(maxEntries) : undefined;
  }

  get(key: string, nowMs: number): Caller | undefined {
    const hit = this.entries?.get(key);
    if (hit && nowMs < hit.expiresAtMs) return hit.caller;
    if (hit) this.entries?.delete(key);
    return undefined;
  }

  set(key: string, caller: Caller, expiresAtMs: number, nowMs: number): void {
    if (nowMs < expiresAtMs) this.entries?.set(key, { caller, expiresAtMs });
  }
}
