import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { WrappedKey } from './keyWrapper';

export interface DekCacheOptions {
  /** How long an unwrapped data key stays in memory after it was unwrapped (or created). */
  ttlMs: number;
  /** Most data keys kept; the least recently used go first. */
  maxEntries: number;
  /** Clock in milliseconds, for tests; defaults to performance.now(). */
  now?: () => number;
}

type Loader = () => Promise<Buffer>;

/**
 * Unwrapped data keys (DEKs), bounded and expiring, so that a warm read costs no KEK call.
 * Keyed by the KEK version plus a hash of the wrapped bytes: the wrapped DEK is unique per
 * record write, and the hash keeps ciphertext out of the key set.
 */
export class DekCache {
  private readonly lru: LRUCache<string, Buffer, Loader>;

  constructor(options: DekCacheOptions) {
    for (const name of ['ttlMs', 'maxEntries'] as const) {
      const value = options[name];
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`DekCache ${name} must be a positive integer.`);
      }
    }
    this.lru = new LRUCache<string, Buffer, Loader>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      // Read the clock on every check: exact expiry, and deterministic with an injected clock.
      ttlResolution: 0,
      ...(options.now ? { perf: { now: options.now } } : {}),
      // lru-cache shares one in-flight fetch per key: concurrent cold opens of one envelope
      // make one unwrap call.
      fetchMethod: (_key, _stale, { context }) => context(),
    });
  }

  get(key: WrappedKey): Buffer | undefined {
    return this.lru.get(cacheKey(key));
  }

  set(key: WrappedKey, dek: Buffer): void {
    this.lru.set(cacheKey(key), dek);
  }

  /** The cached DEK, or the result of `load` (single-flight per key), which is then cached. */
  async getOrLoad(key: WrappedKey, load: () => Promise<Buffer>): Promise<Buffer> {
    const dek = await this.lru.fetch(cacheKey(key), { context: load });
    if (dek === undefined) {
      // Only reachable if the loader resolved to nothing, which a KeyWrapper never does.
      throw new Error('The data key loader returned no key.');
    }
    return dek;
  }

  delete(key: WrappedKey): void {
    this.lru.delete(cacheKey(key));
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

function cacheKey({ keyId, wrapped }: WrappedKey): string {
  return `${keyId}\n${createHash('sha256').update(wrapped).digest('base64url')}`;
}
