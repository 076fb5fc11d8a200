import { lruCache } from '../../shared/lruCache';

// The in-memory caches (tokens, policies, verified caller tokens) hold up to 100,000 entries; made
// with lru-cache's `max`, each would allocate storage for all of them at every start.

it('keeps at most maxEntries, the least recently used going first', () => {
  const cache = lruCache<string, number>(3);
  for (const k of ['a', 'b', 'c']) cache.set(k, k.charCodeAt(0));
  expect(cache.get('a')).toBe(97); // now the most recently used
  cache.set('d', 100);
  expect([...cache.keys()].sort()).toEqual(['a', 'c', 'd']);
  expect(cache.size).toBe(3);
  cache.set('a', 1); // replacing an entry does not count twice
  expect(cache.size).toBe(3);
});

it('allocates nothing for the entries it does not hold yet', () => {
  const before = process.memoryUsage();
  const caches = Array.from({ length: 4 }, () => lruCache<string, number>(1_000_000));
  const after = process.memoryUsage();
  caches[0].set('x', 1);
  // With `max: 1_000_000` each cache takes ~24 MB here (two arrays of 1,000,000 slots and two Uint32Arrays).
  expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(8 * 1024 * 1024);
});
