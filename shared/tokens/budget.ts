import type { LRUCache } from 'lru-cache';
import { lruCache } from '../lruCache';

// Per-minute budgets: a fixed window of one minute that starts with its first event. The
// connection row's identity-provider calls and forced refreshes, the OAuth client's forced
// refreshes (a row of their own) and a caller's forced refreshes (in memory) all count this way.

export const WINDOW_MS = 60_000;

export interface Window {
  start: number;
  count: number;
}

/** The window `now` falls in: the stored one while it lasts, else a new, empty one. */
export function currentWindow(w: Window | undefined, now: number): Window {
  return w && w.start > now - WINDOW_MS ? w : { start: now, count: 0 };
}

/** Seconds until a full window ends (what Retry-After says). */
export function secondsLeft(w: Window, now: number): number {
  return (w.start + WINDOW_MS - now) / 1000;
}

/** Budgets kept in this process's memory, one window per key (bounded: least recently used keys go first). */
export class MemoryBudget {
  private readonly windows: LRUCache<string, Window>;

  constructor(
    private readonly limit: number,
    maxKeys = 100_000,
  ) {
    this.windows = lruCache(maxKeys);
  }

  /** Counts one event for `key`; 0 when within the budget, otherwise the seconds to wait (nothing counted). */
  take(key: string, now: number): number {
    const w = currentWindow(this.windows.get(key), now);
    if (w.count >= this.limit) return secondsLeft(w, now);
    this.windows.set(key, { start: w.start, count: w.count + 1 });
    return 0;
  }
}
