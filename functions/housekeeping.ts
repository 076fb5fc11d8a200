import { app, type InvocationContext } from '@azure/functions';
import * as df from './lib/durable';
import { durableClientInput, LIFECYCLE_PREFIX } from './lib/lifecycle';
import { getServices } from './lib/runtime';

// Timers that keep the tables tidy. Consent states and codes are dead after 10 minutes (and
// stored only as hashes); finished orchestrations (notices, cascades, rotations) keep a week of
// history for operators, then go. Lifecycles run for as long as their connection; the lifecycle
// of a deleted connection is terminated by the delete (or stops by itself, finding it gone) and
// is purged here once it has ended, never before (see lifecycleDeleted in functions/lib/lifecycle.ts).

const FINISHED_RETENTION_MS = 7 * 24 * 3600_000;

export async function purgeConsentStates(_timer: unknown, context: InvocationContext): Promise<void> {
  const s = await getServices();
  const removed = await s.consent.purgeExpired();
  if (removed) context.info(`housekeeping: removed ${removed} expired consent states`);
}

export async function purgeFinishedOrchestrations(_timer: unknown, context: InvocationContext): Promise<void> {
  const r = await df.getClient(context).purgeInstanceHistoryBy({
    createdTimeFrom: new Date(0),
    createdTimeTo: new Date(Date.now() - FINISHED_RETENTION_MS),
    runtimeStatus: [df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated],
  });
  if (r.instancesDeleted) context.info(`housekeeping: purged ${r.instancesDeleted} finished orchestrations`);
}

export async function purgeEndedLifecycles(_timer: unknown, context: InvocationContext): Promise<void> {
  const client = df.getClient(context);
  const ended = await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Terminated, df.OrchestrationRuntimeStatus.Completed] });
  let purged = 0;
  for (const s of ended) {
    if (!s.instanceId.startsWith(LIFECYCLE_PREFIX)) continue;
    try {
      purged += (await client.purgeInstanceHistory(s.instanceId)).instancesDeleted;
    } catch {
      // Started again meanwhile (the connection came back): not ended any more, not purged.
    }
  }
  if (purged) context.info(`housekeeping: purged ${purged} ended lifecycles`);
}

app.timer('purgeConsentStates', { schedule: '0 */15 * * * *', handler: purgeConsentStates });
app.timer('purgeEndedLifecycles', { schedule: '0 5/15 * * * *', extraInputs: [durableClientInput], handler: purgeEndedLifecycles });
app.timer('purgeFinishedOrchestrations', { schedule: '0 15 4 * * *', extraInputs: [durableClientInput], handler: purgeFinishedOrchestrations });
