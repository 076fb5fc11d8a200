import { LRUCache } from 'lru-cache';

/**
 * An LRU cache of at most `maxEntries` entries (each counts 1 against lru-cache's `maxSize`), whose
 * storage grows as it fills. With `max` instead, lru-cache allocates its arrays for every entry
 * when the cache is made (its README, "Storage Bounds Safety"): ~9 ms for 100,000 entries, paid by
 * every instance at start for caches that a cold instance has barely used.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- lru-cache's own constraint (non-nullish keys and values)
export function lruCache<K extends {}, V extends {}>(maxEntries: number): LRUCache<K, V> {
  return new LRUCache<K, V>({ maxSize: maxEntries, sizeCalculation: () => 1 });
}
