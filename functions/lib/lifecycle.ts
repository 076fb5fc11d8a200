import type { InvocationContext } from '@azure/functions';
import * as df from './durable';
import { LifecycleService } from '../../shared/lifecycle/lifecycleService';
import { getServices } from './runtime';

// What HTTP functions tell the lifecycle orchestrations, through the durable client the host
// hands them (`extraInputs: [durableClientInput]`). A failure here never fails the request: the
// connection's state is already stored, and the token endpoint refreshes on demand regardless.

export const durableClientInput = df.input.durableClient();

export interface LifecycleInput {
  providerId: string;
  connectionId: string;
  /** Warnings already sent, by `kind:endsAt`, so each is sent once. */
  warned?: string[];
  /** Reminders sent while waiting for consent. */
  reminders?: number;
  /** Announce `connection.connected` first (the connection just got tokens by consent or creation). */
  announce?: boolean;
  /** The connection generation this lifecycle serves, pinned by its first evaluation. */
  generation?: string;
}

/** Raised by consent (and a PUT that reconnects a connection) to wake a waiting lifecycle. */
export const CONSENT_COMPLETED = 'ConsentCompleted';

const ACTIVE = new Set(['Running', 'Pending', 'ContinuedAsNew']);
/** How long a reconnect waits for an earlier connection's lifecycle to take its queued termination. */
const REPLACED_LIFECYCLE_WAIT_MS = 10_000;

/** The lifecycle instance ids; housekeeping purges those that ended by termination. */
export const LIFECYCLE_PREFIX = 'lifecycle:';

async function statusOf(client: df.DurableClient, id: string): Promise<df.DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(id);
  } catch {
    return undefined; // 404: never started, or purged
  }
}

/** A connection became Connected: start its lifecycle, or wake the one waiting for consent. */
export async function lifecycleConnected(context: InvocationContext, providerId: string, connectionId: string): Promise<void> {
  const id = LifecycleService.instanceId(providerId, connectionId);
  try {
    const client = df.getClient(context);
    let status = await statusOf(client, id);
    if (status && ACTIVE.has(status.runtimeStatus)) {
      const serving = (status.input as LifecycleInput | null)?.generation;
      const current = serving === undefined ? undefined : await (await getServices()).lifecycle.generation(providerId, connectionId);
      if (serving === undefined || serving === current) {
        await client.raiseEvent(id, CONSENT_COMPLETED, {});
        return;
      }
      // The lifecycle of an earlier connection with this id, its termination still queued: woken,
      // it would take the termination anyway. Let it end, then start this connection's own.
      await client.terminate(id, 'connection replaced');
      const until = Date.now() + REPLACED_LIFECYCLE_WAIT_MS;
      while (status && ACTIVE.has(status.runtimeStatus) && Date.now() < until) {
        await new Promise((ok) => setTimeout(ok, 250));
        status = await statusOf(client, id);
      }
      if (status && ACTIVE.has(status.runtimeStatus)) {
        context.warn(`lifecycle: ${id} still serves the connection this one replaced; not started (the next consent or PUT starts it)`);
        return;
      }
    }
    await client.startNew('connectionLifecycle', { instanceId: id, input: { providerId, connectionId, announce: true } satisfies LifecycleInput });
  } catch (err) {
    context.warn(`lifecycle: could not start or wake ${id} (${err instanceof Error ? err.name : 'error'})`);
  }
}

/**
 * A connection was deleted: its lifecycle is terminated and `connection.deleted` goes out. The
 * termination is a queued message (the instance reads Running until it next runs, and an episode
 * in flight finishes first; its activities find the connection gone and do nothing), so the
 * request does not wait for it and does not purge: purging an instance that has not ended is
 * refused by the extension (older ones purged it and let its queued work write rows back).
 * Housekeeping (`purgeEndedLifecycles`) purges it once it reads Terminated.
 */
export async function lifecycleDeleted(context: InvocationContext, providerId: string, connectionId: string): Promise<void> {
  const id = LifecycleService.instanceId(providerId, connectionId);
  try {
    const client = df.getClient(context);
    const status = await statusOf(client, id);
    if (status && ACTIVE.has(status.runtimeStatus)) await client.terminate(id, 'connection deleted');
    await client.startNew('publishNotice', { input: { type: 'connection.deleted', providerId, connectionId } });
  } catch (err) {
    context.warn(`lifecycle: could not end ${id} (${err instanceof Error ? err.name : 'error'})`);
  }
}

/** Ends the lifecycles of deleted connections, a few at a time. */
export async function endLifecycles(context: InvocationContext, providerId: string, connectionIds: string[]): Promise<void> {
  const queue = [...connectionIds];
  await Promise.all(
    Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) await lifecycleDeleted(context, providerId, id);
    }),
  );
}
