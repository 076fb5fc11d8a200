import { DekCache } from '../../../shared/crypto/dekCache';
import type { WrappedKey } from '../../../shared/crypto/keyWrapper';

const key = (n: number, keyId = 'local:v1'): WrappedKey => ({ keyId, wrapped: Buffer.from([n, 1, 2, 3]) });
const dek = (n: number) => Buffer.alloc(32, n);

describe('DekCache', () => {
  let clock: number;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000;
  });

  it('returns a DEK until its TTL has passed', () => {
    const cache = new DekCache({ ttlMs: 1_000, maxEntries: 10, now });
    cache.set(key(1), dek(1));
    clock += 999;
    expect(cache.get(key(1))).toEqual(dek(1));
    clock += 2;
    expect(cache.get(key(1))).toBeUndefined();
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new DekCache({ ttlMs: 60_000, maxEntries: 2, now });
    cache.set(key(1), dek(1));
    cache.set(key(2), dek(2));
    cache.get(key(1));
    cache.set(key(3), dek(3));
    expect(cache.get(key(2))).toBeUndefined();
    expect(cache.get(key(1))).toEqual(dek(1));
    expect(cache.get(key(3))).toEqual(dek(3));
    expect(cache.size).toBe(2);
  });

  it('keys by key version and wrapped bytes', () => {
    const cache = new DekCache({ ttlMs: 60_000, maxEntries: 10, now });
    cache.set(key(1, 'local:v1'), dek(1));
    expect(cache.get(key(1, 'local:v2'))).toBeUndefined();
    expect(cache.get(key(2, 'local:v1'))).toBeUndefined();
    expect(cache.get({ keyId: 'local:v1', wrapped: Buffer.from([1, 1, 2, 3]) })).toEqual(dek(1));
  });

  it('loads a missing DEK once for concurrent callers and caches it', async () => {
    const cache = new DekCache({ ttlMs: 60_000, maxEntries: 10, now });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 5));
      return dek(7);
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.getOrLoad(key(7), load)));
    expect(loads).toBe(1);
    expect(results.every((r) => r.equals(dek(7)))).toBe(true);
    await cache.getOrLoad(key(7), load);
    expect(loads).toBe(1);
  });

  it('does not cache a failed load', async () => {
    const cache = new DekCache({ ttlMs: 60_000, maxEntries: 10, now });
    await expect(cache.getOrLoad(key(1), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(cache.getOrLoad(key(1), async () => dek(1))).resolves.toEqual(dek(1));
  });

  it('rejects bad options when built', () => {
    expect(() => new DekCache({ ttlMs: 0, maxEntries: 10 })).toThrow(RangeError);
    expect(() => new DekCache({ ttlMs: 1000, maxEntries: 1.5 })).toThrow(RangeError);
  });
});
