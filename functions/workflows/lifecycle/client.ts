import type { InvocationContext } from '@azure/functions';
import * as df from '../../lib/durable';
import { LifecycleService, type ConnectionRef, type DeletedConnection } from '../../../shared/lifecycle/lifecycleService';
import { isActive } from '../common';
import { CONNECTION_LIFECYCLE, CONSENT_COMPLETED, PUBLISH_NOTICE, type LifecycleInput, type LifecycleNotice } from './names';

// What HTTP functions tell the lifecycle orchestrations, through the durable client the host
// hands them (`extraInputs: [durableClientInput]`, functions/workflows/common.ts). A failure here
// never fails the request: the connection's state is already stored, and the token endpoint
// refreshes on demand regardless.
//
// Each generation of a connection has its own lifecycle (LifecycleService.instanceId), so nothing
// here waits for an instance to end or reads the connection back: a client's message (start,
// event, termination) is queued, and in Azure an idle app takes it at its next control-queue poll,
// up to 30 s later. Notices go out through `publishNotice` orchestrations of their own, never
// through an event a lifecycle might not be waiting for.

const failure = (err: unknown) => (err instanceof Error ? err.name : 'error');

/** The durable client, if the host has one for this function (a host without the extension has none). */
function clientOf(context: InvocationContext, id: string): df.DurableClient | undefined {
  try {
    return df.getClient(context);
  } catch (err) {
    context.warn(`lifecycle: no durable client to reach ${id} (${failure(err)})`);
    return undefined;
  }
}

async function statusOf(client: df.DurableClient, id: string): Promise<df.DurableOrchestrationStatus | undefined> {
  try {
    return await client.getStatus(id);
  } catch {
    return undefined; // 404: never started, or purged
  }
}

/** Starts the generation's lifecycle, or wakes it when it runs (asleep or waiting for consent). */
async function startOrWake(client: df.DurableClient, id: string, c: ConnectionRef): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const status = await statusOf(client, id);
    try {
      if (status && isActive(status.runtimeStatus)) await client.raiseEvent(id, CONSENT_COMPLETED, {});
      else await client.startNew(CONNECTION_LIFECYCLE, { instanceId: id, input: { ...c } satisfies LifecycleInput });
      return;
    } catch (err) {
      // Started by a concurrent request, or ended, between the read and the write: once more.
      if (attempt === 2) throw err;
    }
  }
}

/**
 * A connection (this generation of it) got tokens: `connection.connected` goes out, and its
 * lifecycle starts or wakes. The announcement is its own orchestration, so it does not depend on
 * the lifecycle taking the event (one busy in an activity, or waiting to resume, drops it when it
 * continues as new: durable-functions keeps no unprocessed events).
 */
export async function lifecycleConnected(context: InvocationContext, c: ConnectionRef): Promise<void> {
  const id = LifecycleService.instanceId(c.providerId, c.connectionId, c.generation);
  const client = clientOf(context, id);
  if (!client) return;
  try {
    await startOrWake(client, id, c);
  } catch (err) {
    context.warn(`lifecycle: could not start or wake ${id} (${failure(err)})`);
  }
  try {
    await client.startNew(PUBLISH_NOTICE, { input: { type: 'connection.connected', ...c } satisfies LifecycleNotice });
  } catch (err) {
    context.warn(`lifecycle: could not announce ${id} connected (${failure(err)})`);
  }
}

/**
 * A connection (this generation of it) was deleted: its lifecycle is terminated and
 * `connection.deleted` goes out, each on its own, so that one failing does not skip the other.
 * The termination is a queued message (the instance reads Running until it takes it, and an
 * episode in flight finishes first; its activities find the connection gone and do nothing), so
 * the request neither waits for it nor purges: purging an instance that has not ended is refused
 * by the extension. Housekeeping purges it with the other finished orchestrations.
 */
export async function lifecycleDeleted(context: InvocationContext, c: DeletedConnection): Promise<void> {
  const id = LifecycleService.instanceId(c.providerId, c.connectionId, c.generation);
  const client = clientOf(context, id);
  if (!client) return;
  try {
    await client.terminate(id, 'connection deleted');
  } catch (err) {
    // A connection that never connected has no lifecycle (404); one that ended is no error (410 resolves).
    if (!(err instanceof Error && err.message.startsWith('No instance with ID'))) context.warn(`lifecycle: could not terminate ${id} (${failure(err)})`);
  }
  try {
    await client.startNew(PUBLISH_NOTICE, { input: { type: 'connection.deleted', ...c } satisfies LifecycleNotice });
  } catch (err) {
    context.warn(`lifecycle: could not announce ${id} deleted (${failure(err)})`);
  }
}

/** Ends the lifecycles of deleted connections, a few at a time. */
export async function endLifecycles(context: InvocationContext, connections: DeletedConnection[]): Promise<void> {
  const queue = [...connections];
  await Promise.all(
    Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await lifecycleDeleted(context, c);
    }),
  );
}
