// Backoff between attempts: the server's Retry-After when it gives one, else exponential with
// jitter so that many clients failing together do not come back together.

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in seconds (rounded up, ≥ 0). */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Attempt `n` (0-based) waits between half and all of `min(maxMs, baseMs * 2^n)`. */
export function backoffMs(n: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** n);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
