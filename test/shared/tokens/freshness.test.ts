import { isFresh, isUsable } from '../../../shared/tokens/freshness';
import type { StoredToken } from '../../../shared/store/connectionTokens';

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const token = (lifetimeSeconds: number | undefined): StoredToken => ({
  accessToken: 'a',
  tokenType: 'Bearer',
  obtainedAt: T0,
  ...(lifetimeSeconds === undefined ? {} : { expiresAt: T0 + lifetimeSeconds * 1000 }),
  claims: {},
});
const at = (seconds: number) => T0 + seconds * 1000;

describe('isFresh', () => {
  it('asks for minValidity seconds left on a long-lived token', () => {
    expect(isFresh(token(3600), at(3600 - 181), 180)).toBe(true);
    expect(isFresh(token(3600), at(3600 - 180), 180)).toBe(false);
  });

  it('never asks for more than half the lifetime (a 40 s token is served for 20 s)', () => {
    expect(isFresh(token(40), at(19.9), 180)).toBe(true);
    expect(isFresh(token(40), at(20), 180)).toBe(false);
  });

  it('treats a token without expiry as fresh, and minValidity 0 as "until it ends"', () => {
    expect(isFresh(token(undefined), at(10 ** 6), 180)).toBe(true);
    expect(isFresh(token(60), at(59.9), 0)).toBe(true);
  });
});

describe('isUsable (served while a refresh fails)', () => {
  it('keeps 5 s, or a tenth of a short lifetime, before the end', () => {
    expect(isUsable(token(3600), at(3600 - 5.1))).toBe(true);
    expect(isUsable(token(3600), at(3600 - 5))).toBe(false);
    expect(isUsable(token(2), at(1.7))).toBe(true);
    expect(isUsable(token(2), at(1.8))).toBe(false);
    expect(isUsable(undefined, T0)).toBe(false);
  });
});
