import type { InvocationContext } from '@azure/functions';
import * as df from './lib/durable';
import { deleteProviderCascade } from './lib/cascadeOrchestrator';
import { durableClientInput, endLifecycles } from './lib/lifecycle';
import { getServices } from './lib/runtime';
import { activity } from './lib/retryPolicy';

// The background cascade of DELETE /providers/{id} (functions/lib/cascadeOrchestrator.ts).

df.app.orchestration('providerCascade', deleteProviderCascade);

df.app.activity('cascadeDeletePage', {
  extraInputs: [durableClientInput],
  handler: activity(async (providerId: string, context: InvocationContext) => (await getServices()).providers.deletePage(providerId, (connections) => endLifecycles(context, connections))),
});

df.app.activity('cascadeFinish', {
  handler: activity(async (providerId: string) => (await getServices()).providers.finishDelete(providerId)),
});
