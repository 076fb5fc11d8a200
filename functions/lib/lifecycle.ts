import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { LifecycleService } from '../../shared/lifecycle/lifecycleService';

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
}

/** Raised by consent (and a PUT that reconnects a connection) to wake a waiting lifecycle. */
export const CONSENT_COMPLETED = 'ConsentCompleted';

const ACTIVE = new Set(['Running', 'Pending', 'ContinuedAsNew']);

async function statusOf(client: df.DurableClient, id: string): Promise<string | undefined> {
  try {
    return (await client.getStatus(id)).runtimeStatus;
  } catch {
    return undefined; // 404: never started, or purged
  }
}

/** A connection became Connected: start its lifecycle, or wake the one waiting for consent. */
export async function lifecycleConnected(context: InvocationContext, providerId: string, connectionId: string): Promise<void> {
  const id = LifecycleService.instanceId(providerId, connectionId);
  try {
    const client = df.getClient(context);
    const status = await statusOf(client, id);
    if (status && ACTIVE.has(status)) await client.raiseEvent(id, CONSENT_COMPLETED, {});
    else await client.startNew('connectionLifecycle', { instanceId: id, input: { providerId, connectionId, announce: true } satisfies LifecycleInput });
  } catch (err) {
    context.warn(`lifecycle: could not start or wake ${id} (${err instanceof Error ? err.name : 'error'})`);
  }
}

/** A connection was deleted: its lifecycle ends and its history goes. */
export async function lifecycleDeleted(context: InvocationContext, providerId: string, connectionId: string): Promise<void> {
  const id = LifecycleService.instanceId(providerId, connectionId);
  try {
    const client = df.getClient(context);
    const status = await statusOf(client, id);
    if (status && ACTIVE.has(status)) await client.terminate(id, 'connection deleted');
    if (status) await client.purgeInstanceHistory(id);
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
