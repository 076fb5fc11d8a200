import type { CredmanToken } from './response';

// Each connection's last token, served while it has more than `minValidity` left. Like the
// server, the margin never exceeds half the life the token had when it arrived, so a token
// that lives 40 s is reused for about 20 s instead of never.

/**
 * A token without `expiresOn` (the identity provider gave no lifetime) is served from the cache
 * for at most this long, then asked for again: a revoked or replaced token is not used for ever.
 */
export const NO_EXPIRY_RECHECK_SECONDS = 300;

interface Entry {
  token: CredmanToken;
  receivedAt: number;
}

export class TokenCache {
  readonly #entries = new Map<string, Entry>();

  get(key: string, minValiditySeconds: number, now: number = Date.now()): CredmanToken | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const expiresAt = entry.token.expiresOn?.getTime();
    if (expiresAt === undefined) {
      if (now - entry.receivedAt < NO_EXPIRY_RECHECK_SECONDS * 1000) return entry.token;
      this.#entries.delete(key);
      return undefined;
    }
    if (expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    const margin = Math.min(minValiditySeconds * 1000, (expiresAt - entry.receivedAt) / 2);
    return expiresAt - now > margin ? entry.token : undefined;
  }

  set(key: string, token: CredmanToken, now: number = Date.now()): void {
    this.#entries.set(key, { token, receivedAt: now });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
