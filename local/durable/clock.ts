// The driver's notion of time: what OrchestratorStarted timestamps (and so
// `context.df.currentUtcDateTime`) read, and when durable timers fire. `npm start` uses the system
// clock; tests use ManualClock and advance it, which fires every timer that has come due at once.

export interface DurableClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fire` once the clock reaches `at` (at once if it already has); returns a cancel function. */
  schedule(at: number, fire: () => void): () => void;
}

/** setTimeout's limit (about 24.8 days); longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: DurableClock = {
  now: () => Date.now(),
  schedule(at, fire) {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      if (cancelled) return;
      const wait = at - Date.now();
      if (wait <= 0) {
        handle = undefined;
        fire();
        return;
      }
      handle = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
      handle.unref();
    };
    // Never fire synchronously inside schedule(): callers arm timers while holding state.
    handle = setTimeout(arm, 0);
    handle.unref();
    return () => {
      cancelled = true;
      if (handle) clearTimeout(handle);
    };
  },
};

/** A clock that moves only when told to. */
export class ManualClock implements DurableClock {
  private current: number;
  private readonly pending = new Set<{ at: number; fire: () => void }>();

  constructor(start: Date | number = Date.UTC(2030, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  schedule(at: number, fire: () => void): () => void {
    const entry = { at, fire };
    this.pending.add(entry);
    if (at <= this.current) queueMicrotask(() => this.fireDue());
    return () => this.pending.delete(entry);
  }

  /** Moves the clock forward by `ms` and fires every timer now due, earliest first. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a clock does not go backwards');
    this.current += ms;
    this.fireDue();
  }

  /** Moves the clock to `to` (not backwards) and fires every timer now due. */
  set(to: Date | number): void {
    this.advance(Math.max(0, (typeof to === 'number' ? to : to.getTime()) - this.current));
  }

  /** How many timers wait for a later time. */
  get waiting(): number {
    return this.pending.size;
  }

  /** When the earliest waiting timer fires; undefined when none waits. */
  get nextAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.pending) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  private fireDue(): void {
    const due = [...this.pending].filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at);
    for (const t of due) {
      if (!this.pending.delete(t)) continue;
      t.fire();
    }
  }
}
