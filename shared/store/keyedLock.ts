/**
 * Runs tasks one at a time per key within this process. Counted writes to one partition would
 * otherwise race on its counter's ETag and mostly retry; across instances the ETag still decides.
 * The local durable driver runs each instance's work through one too.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Settles when every task queued so far has ended (whether it succeeded or not). */
  async idle(): Promise<void> {
    await Promise.all(this.tails.values());
  }
}
