import { app, type InvocationContext } from '@azure/functions';
import { getServices } from './lib/runtime';

// Timers that keep the tables tidy. Consent states and codes are dead after 10 minutes (and
// stored only as hashes); this removes the ones nobody used.

export async function purgeConsentStates(_timer: unknown, context: InvocationContext): Promise<void> {
  const s = await getServices();
  const removed = await s.consent.purgeExpired();
  if (removed) context.info(`housekeeping: removed ${removed} expired consent states`);
}

app.timer('purgeConsentStates', { schedule: '0 */15 * * * *', handler: purgeConsentStates });
