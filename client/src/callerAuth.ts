import type { AccessToken, TokenCredential } from '@azure/identity';
import { CredmanAuthError, SdkErrorCode } from './errors';
import type { PlatformTokenProvider } from './options';

// The caller's own bearer token for credman. An Entra credential's token is kept until near
// its end (one getToken call per token, however many requests); a platform token is read
// afresh for every request, because the platform rotates it (a projected service-account token
// file) or it is cheap and short-lived (GitHub Actions).

export interface CallerAuth {
  token(): Promise<string>;
  /** credman refused the token (401): do not reuse it. */
  rejected(token: string): void;
}

/** Reuse an Entra token until `refreshAfterTimestamp`, else until 5 minutes (at most half its remaining life) before it ends. */
const MAX_EARLY_MS = 5 * 60_000;

export function credentialAuth(getCredential: () => TokenCredential, scope: string): CallerAuth {
  let cached: { token: string; reuseUntil: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    let got: AccessToken | null;
    try {
      got = await getCredential().getToken(scope);
    } catch (err) {
      throw callerTokenError(`the credential could not get a token for ${scope}: ${messageOf(err)}`, err);
    }
    if (!got || typeof got.token !== 'string' || got.token === '') throw callerTokenError(`the credential returned no token for ${scope}`);
    const now = Date.now();
    const early = Math.min(MAX_EARLY_MS, Math.max(0, (got.expiresOnTimestamp - now) / 2));
    cached = { token: got.token, reuseUntil: got.refreshAfterTimestamp ?? got.expiresOnTimestamp - early };
    return got.token;
  };
  return {
    token() {
      if (cached && Date.now() < cached.reuseUntil) return Promise.resolve(cached.token);
      pending ??= fetchToken().finally(() => (pending = undefined));
      return pending;
    },
    rejected(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}

export function platformAuth(provider: PlatformTokenProvider): CallerAuth {
  return {
    async token() {
      let token: unknown;
      try {
        token = await provider();
      } catch (err) {
        if (err instanceof CredmanAuthError) throw err;
        throw callerTokenError(`the platform token could not be read: ${messageOf(err)}`, err);
      }
      if (typeof token !== 'string' || token.trim() === '') throw callerTokenError('the platform token is empty');
      return token.trim();
    },
    rejected() {},
  };
}

export function callerTokenError(message: string, cause?: unknown): CredmanAuthError {
  return new CredmanAuthError(SdkErrorCode.CallerTokenUnavailable, `Caller token unavailable: ${message}`, cause === undefined ? {} : { cause });
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : 'unknown error');
