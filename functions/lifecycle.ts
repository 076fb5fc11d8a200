import * as df from './lib/durable';
import { connectionLifecycle, publishNotice, type LifecycleNotice } from './lib/lifecycleOrchestrator';
import { getServices } from './lib/runtime';
import { activity } from './lib/retryPolicy';

// The connection lifecycle's registrations: the orchestrator (functions/lib/lifecycleOrchestrator.ts)
// and its three activities, each one call into shared/lifecycle, their failures marked transient
// or permanent for the orchestrations' fault policy (functions/lib/retryPolicy.ts).

df.app.orchestration('connectionLifecycle', connectionLifecycle);
df.app.orchestration('publishNotice', publishNotice);

df.app.activity('lifecycleEvaluate', {
  handler: activity(async (input: { providerId: string; connectionId: string; now: string; generation: string }) =>
    (await getServices()).lifecycle.evaluate(input.providerId, input.connectionId, Date.parse(input.now), input.generation),
  ),
});

df.app.activity('lifecycleRefresh', {
  handler: activity(async (input: { providerId: string; connectionId: string; knownVersion: number; generation: string }) =>
    (await getServices()).lifecycle.refresh(input.providerId, input.connectionId, input.knownVersion, input.generation),
  ),
});

df.app.activity('lifecycleNotify', {
  handler: activity(async (notice: LifecycleNotice) => (await getServices()).lifecycle.notify(notice)),
});
