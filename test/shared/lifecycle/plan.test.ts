import { MAX_SLEEP_MS, planLifecycle, type LifecycleState } from '../../../shared/lifecycle/plan';

const H = 3600_000;
const D = 24 * H;
const NOW = Date.UTC(2026, 10, 23, 12);
const cfg = { activeWindowMs: 24 * H, expiryWarningMs: 14 * D, minValidityMs: 180_000 };

const connected = (over: Partial<LifecycleState> = {}): LifecycleState => ({
  status: 'Connected',
  grantType: 'AuthorizationCode',
  token: { obtainedAt: NOW - 10 * 60_000, expiresAt: NOW + 50 * 60_000 },
  hasRefreshToken: true,
  lastUsedAt: NOW - H,
  ...over,
});

describe('planLifecycle', () => {
  it('sleeps an active connection until just before the token endpoint would refresh', () => {
    const { plan } = planLifecycle(connected(), cfg, NOW);
    // 60 min token: margin = 3 min (minValidity) + 1 min (tenth of the lifetime, at most a minute).
    expect(plan).toEqual({ kind: 'sleep', until: NOW + 50 * 60_000 - 4 * 60_000, reason: 'tokenDue' });
  });

  it('refreshes an active connection once that time has come', () => {
    expect(planLifecycle(connected(), cfg, NOW + 46 * 60_000).plan).toEqual({ kind: 'refresh', reason: 'ahead' });
  });

  it('refreshes short-lived tokens ahead of half their lifetime (30 s tokens)', () => {
    const s = connected({ token: { obtainedAt: NOW, expiresAt: NOW + 30_000 } });
    expect(planLifecycle(s, cfg, NOW).plan).toEqual({ kind: 'sleep', until: NOW + 30_000 - 15_000 - 3_000, reason: 'tokenDue' });
  });

  it('plans whole milliseconds, so the timer that wakes it finds the refresh due (a 7 ms token)', () => {
    const s = connected({ token: { obtainedAt: NOW, expiresAt: NOW + 7 } });
    const { plan } = planLifecycle(s, cfg, NOW);
    // Due 2.8 ms in; a timer for then fires at NOW + 2 (Dates hold whole milliseconds).
    expect(plan).toEqual({ kind: 'sleep', until: NOW + 2, reason: 'tokenDue' });
    expect(planLifecycle(s, cfg, new Date(plan.kind === 'sleep' ? plan.until : 0).getTime()).plan).toEqual({ kind: 'refresh', reason: 'ahead' });
  });

  it('leaves an idle connection alone until the idle deadline of its refresh token', () => {
    const s = connected({ lastUsedAt: NOW - 3 * D, idleLifetimeMs: 90 * D, refreshTokenUsedAt: NOW - 10 * D });
    const { plan } = planLifecycle(s, cfg, NOW);
    expect(plan).toEqual({ kind: 'sleep', until: NOW - 10 * D + 90 * D - D, reason: 'idleDeadline' });
    expect(planLifecycle(s, cfg, NOW + 79 * D).plan).toEqual({ kind: 'refresh', reason: 'exercise' });
  });

  it('an idle connection without idle deadline sleeps for the longest interval', () => {
    expect(planLifecycle(connected({ lastUsedAt: undefined }), cfg, NOW).plan).toEqual({ kind: 'sleep', until: NOW + MAX_SLEEP_MS, reason: 'nothingDue' });
  });

  it('wakes when the active window ends, to fall back to the idle schedule', () => {
    const s = connected({ token: { obtainedAt: NOW, expiresAt: NOW + 48 * H }, lastUsedAt: NOW - 23 * H });
    expect(planLifecycle(s, cfg, NOW).plan).toEqual({ kind: 'sleep', until: NOW + H, reason: 'activeWindowEnds' });
  });

  it('wakes when consent without a refresh token ends, idle or not, and then tries (to be marked ReauthorizationRequired)', () => {
    const idle = connected({ hasRefreshToken: false, lastUsedAt: undefined });
    expect(planLifecycle(idle, cfg, NOW).plan).toEqual({ kind: 'sleep', until: NOW + 50 * 60_000, reason: 'tokenEnds' });
    expect(planLifecycle(idle, cfg, NOW + 50 * 60_000).plan).toEqual({ kind: 'refresh', reason: 'expired' });
    // A token that never ends (GitHub OAuth Apps) gives nothing to wake for.
    const forever = connected({ hasRefreshToken: false, lastUsedAt: undefined, token: { obtainedAt: NOW } });
    expect(planLifecycle(forever, cfg, NOW).plan).toEqual({ kind: 'sleep', until: NOW + MAX_SLEEP_MS, reason: 'nothingDue' });
  });

  it('waits for consent when reauthorization is required, and stops without a token', () => {
    expect(planLifecycle(connected({ status: 'Error', errorCode: 'ReauthorizationRequired' }), cfg, NOW).plan).toEqual({ kind: 'awaitConsent' });
    expect(planLifecycle(connected({ status: 'Pending', token: undefined }), cfg, NOW).plan).toEqual({ kind: 'stop' });
  });

  it('refreshes client-credentials tokens ahead without any refresh token', () => {
    const s = connected({ grantType: 'ClientCredentials', hasRefreshToken: false });
    expect(planLifecycle(s, cfg, NOW + 47 * 60_000).plan).toEqual({ kind: 'refresh', reason: 'ahead' });
  });

  it('warns within the window before a refresh token or client secret ends, and wakes at the window otherwise', () => {
    const soon = connected({ refreshTokenEndsAt: NOW + 10 * D, clientSecretEndsAt: NOW + 30 * D, lastUsedAt: undefined });
    const r = planLifecycle(soon, cfg, NOW);
    expect(r.warnings).toEqual([{ kind: 'refreshTokenExpiring', endsAt: NOW + 10 * D }]);
    expect(r.plan).toEqual({ kind: 'sleep', until: NOW + 16 * D, reason: 'warning' });
    expect(planLifecycle(soon, cfg, NOW + 16 * D).warnings.map((w) => w.kind)).toEqual(['refreshTokenExpiring', 'clientSecretExpiring']);
  });
});
