// What a connection's lifecycle does next, decided from its state and the clock: a pure function,
// so the orchestration stays deterministic (it calls this inside an activity and acts on the
// answer) and every branch is a unit test.
//
// A connection in use (consented, or served a token, within the active window) is refreshed a
// little before the token endpoint would refresh it on a caller's request, so no request waits
// on a refresh. An idle connection is left alone except to exercise its refresh token before the
// provider's idle deadline: one wake-up per idle lifetime, not one per access-token lifetime.

export interface LifecycleState {
  status: 'Pending' | 'Connected' | 'Error';
  errorCode?: string;
  grantType: 'AuthorizationCode' | 'ClientCredentials';
  token?: { expiresAt?: number; obtainedAt: number };
  hasRefreshToken: boolean;
  /** Absolute end of the refresh token: from the provider (`refresh_token_expires_in`) or consent + the template's absolute lifetime. */
  refreshTokenEndsAt?: number;
  /** The template's idle lifetime of refresh tokens, in ms. */
  idleLifetimeMs?: number;
  /** When the refresh token was last used (or issued): the idle clock starts there. */
  refreshTokenUsedAt?: number;
  /** Last consent or token served (recorded at most hourly, never per request). */
  lastUsedAt?: number;
  clientSecretEndsAt?: number;
}

export interface LifecycleSettings {
  activeWindowMs: number;
  expiryWarningMs: number;
  /** The token endpoint's default minValidity, in ms. */
  minValidityMs: number;
}

export type Warning = { kind: 'refreshTokenExpiring' | 'clientSecretExpiring'; endsAt: number };

export type Plan =
  | { kind: 'refresh'; reason: 'ahead' | 'exercise' | 'expired' }
  | { kind: 'sleep'; until: number; reason: 'tokenDue' | 'tokenEnds' | 'idleDeadline' | 'activeWindowEnds' | 'warning' | 'nothingDue' }
  | { kind: 'awaitConsent' }
  | { kind: 'stop' };

/** How far before the idle deadline the refresh token is exercised: a tenth of it, at most a day. */
const idleSafety = (idleMs: number) => Math.min(idleMs / 10, 24 * 3600_000);
/** With nothing due at all, look again after this long (catches configuration changes). */
export const MAX_SLEEP_MS = 30 * 24 * 3600_000;

export function planLifecycle(s: LifecycleState, cfg: LifecycleSettings, now: number): { plan: Plan; warnings: Warning[] } {
  const warnings = dueWarnings(s, cfg, now);
  if (s.status === 'Error' && (s.errorCode === 'ReauthorizationRequired' || s.errorCode === 'ConsentDenied' || s.errorCode === 'ClientSecretInvalid')) {
    return { plan: { kind: 'awaitConsent' }, warnings };
  }
  if (!s.token) return { plan: { kind: 'stop' }, warnings };

  const canRefresh = s.grantType === 'ClientCredentials' || s.hasRefreshToken;
  const active = s.lastUsedAt !== undefined && now - s.lastUsedAt < cfg.activeWindowMs;
  const wakes: Array<{ at: number; reason: Extract<Plan, { kind: 'sleep' }>['reason'] }> = [];

  if (active && canRefresh && s.token.expiresAt !== undefined) {
    const lifetime = Math.max(0, s.token.expiresAt - s.token.obtainedAt);
    // Before the token endpoint's own margin (minValidity, capped at half the lifetime), with room to spare.
    const margin = Math.min(cfg.minValidityMs, lifetime / 2) + Math.min(60_000, lifetime / 10);
    // Whole milliseconds: a durable timer fires at a whole millisecond, which must count as due.
    const dueAt = Math.floor(s.token.expiresAt - margin);
    if (now >= dueAt) return { plan: { kind: 'refresh', reason: 'ahead' }, warnings };
    wakes.push({ at: dueAt, reason: 'tokenDue' });
  }
  // Consent without a refresh token (a provider that issues none) ends with its access token: wake
  // then, so the refresh attempt marks it ReauthorizationRequired and the notice goes out.
  if (s.grantType === 'AuthorizationCode' && !s.hasRefreshToken && s.token.expiresAt !== undefined) {
    if (now >= s.token.expiresAt) return { plan: { kind: 'refresh', reason: 'expired' }, warnings };
    wakes.push({ at: s.token.expiresAt, reason: 'tokenEnds' });
  }
  if (active && s.lastUsedAt !== undefined) wakes.push({ at: s.lastUsedAt + cfg.activeWindowMs, reason: 'activeWindowEnds' });

  if (s.grantType === 'AuthorizationCode' && s.hasRefreshToken && s.idleLifetimeMs !== undefined) {
    const idleDeadline = (s.refreshTokenUsedAt ?? s.token.obtainedAt) + s.idleLifetimeMs - idleSafety(s.idleLifetimeMs);
    if (now >= idleDeadline) return { plan: { kind: 'refresh', reason: 'exercise' }, warnings };
    wakes.push({ at: idleDeadline, reason: 'idleDeadline' });
  }
  for (const end of [s.refreshTokenEndsAt, s.clientSecretEndsAt]) {
    if (end !== undefined && end - cfg.expiryWarningMs > now) wakes.push({ at: end - cfg.expiryWarningMs, reason: 'warning' });
  }
  if (wakes.length === 0) wakes.push({ at: now + MAX_SLEEP_MS, reason: 'nothingDue' });
  const next = wakes.reduce((a, b) => (b.at < a.at ? b : a));
  return { plan: { kind: 'sleep', until: next.at, reason: next.reason }, warnings };
}

function dueWarnings(s: LifecycleState, cfg: LifecycleSettings, now: number): Warning[] {
  const out: Warning[] = [];
  if (s.refreshTokenEndsAt !== undefined && s.refreshTokenEndsAt - now <= cfg.expiryWarningMs) out.push({ kind: 'refreshTokenExpiring', endsAt: s.refreshTokenEndsAt });
  if (s.clientSecretEndsAt !== undefined && s.clientSecretEndsAt - now <= cfg.expiryWarningMs) out.push({ kind: 'clientSecretExpiring', endsAt: s.clientSecretEndsAt });
  return out;
}
