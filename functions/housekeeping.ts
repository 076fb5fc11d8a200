import { app, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { durableClientInput } from './lib/lifecycle';
import { getServices } from './lib/runtime';

// Timers that keep the tables tidy. Consent states and codes are dead after 10 minutes (and
// stored only as hashes); finished orchestrations (notices, cascades, rotations) keep a week of
// history for operators, then go. Lifecycles never finish, so they are never purged here.

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

app.timer('purgeConsentStates', { schedule: '0 */15 * * * *', handler: purgeConsentStates });
app.timer('purgeFinishedOrchestrations', { schedule: '0 15 4 * * *', extraInputs: [durableClientInput], handler: purgeFinishedOrchestrations });
