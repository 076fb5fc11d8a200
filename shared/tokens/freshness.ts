import type { StoredToken } from '../store/connectionTokens';
import type { TokenSet } from '../oauth/tokenResponse';

// When a token is good enough to hand out. `minValidity` asks for that much life left, but never
// more than half the token's lifetime: a token that lives 40 s is served for its first 20 s
// instead of being refetched on every call (as API Management does with short-lived tokens).

export const DEFAULT_MIN_VALIDITY_SECONDS = 180;
/** A token this close to its end (5 s, or a tenth of a short lifetime) is not handed out even when the identity provider is down. */
export const LAST_USABLE_MS = 5_000;

export function isFresh(t: StoredToken, now: number, minValiditySeconds: number): boolean {
  if (t.expiresAt === undefined) return true;
  const lifetime = Math.max(0, t.expiresAt - t.obtainedAt);
  const margin = Math.min(minValiditySeconds * 1000, lifetime / 2);
  return t.expiresAt - now > margin;
}

/** Still valid, if not fresh: what is served while a refresh fails or is throttled. */
export function isUsable(t: StoredToken | undefined, now: number): t is StoredToken {
  if (t === undefined) return false;
  if (t.expiresAt === undefined) return true;
  return t.expiresAt - now > Math.min(LAST_USABLE_MS, (t.expiresAt - t.obtainedAt) / 10);
}

export function storedToken(set: TokenSet, obtainedAt: number): StoredToken {
  return {
    accessToken: set.accessToken,
    tokenType: set.tokenType,
    ...(set.expiresIn === undefined ? {} : { expiresAt: obtainedAt + set.expiresIn * 1000 }),
    obtainedAt,
    ...(set.scope === undefined ? {} : { scope: set.scope }),
    claims: set.claims,
  };
}
