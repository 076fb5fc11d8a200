import { app, type InvocationContext } from '@azure/functions';
import * as df from './lib/durable';
import { durableClientInput, FINISHED_STATUSES } from './workflows/common';
import { getServices } from './lib/runtime';

// Timers that keep the tables tidy. Consent states and codes are dead after 10 minutes (and
// stored only as hashes); finished orchestrations (notices, cascades, rotations, and the
// lifecycles of deleted connections, terminated by the delete or stopped on finding the connection
// gone) keep a week of history for operators, then go. An instance's created time is when its
// current execution started, never after it ended, so an ended lifecycle goes within a week of its
// end; one still running is never purged (only finished statuses are asked for), and a lifecycle
// id belongs to one generation of a connection, so a purge never races another connection's start.

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
    runtimeStatus: [...FINISHED_STATUSES],
  });
  if (r.instancesDeleted) context.info(`housekeeping: purged ${r.instancesDeleted} finished orchestrations`);
}

app.timer('purgeConsentStates', { schedule: '0 */15 * * * *', handler: purgeConsentStates });
app.timer('purgeFinishedOrchestrations', { schedule: '0 15 4 * * *', extraInputs: [durableClientInput], handler: purgeFinishedOrchestrations });
