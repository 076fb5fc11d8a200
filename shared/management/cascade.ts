import type { ConnectionRecord, ConnectionStore } from '../store/connections';

const CONCURRENCY = 8;

/**
 * Removes every connection of a provider through `remove`, a page at a time with bounded concurrency (Table
 * Storage collapses under thousands of requests at once). Pages restart from the beginning
 * because `remove` deletes what it is given.
 */
export async function drainConnections(
  connections: ConnectionStore,
  providerId: string,
  remove: (c: ConnectionRecord) => Promise<void>,
): Promise<void> {
  for (;;) {
    const page = await connections.list(providerId, 100);
    if (page.items.length === 0) return;
    const queue = [...page.items];
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) await remove(c);
      }),
    );
  }
}
