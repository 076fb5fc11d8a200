import type { InvocationContext } from '@azure/functions';
import * as df from './lib/durable';
import { deleteProviderCascade } from './lib/cascadeOrchestrator';
import { durableClientInput, endLifecycles } from './lib/lifecycle';
import { getServices } from './lib/runtime';

// The background cascade of DELETE /providers/{id} (functions/lib/cascadeOrchestrator.ts).

df.app.orchestration('providerCascade', deleteProviderCascade);

df.app.activity('cascadeDeletePage', {
  extraInputs: [durableClientInput],
  handler: async (providerId: string, context: InvocationContext) =>
    (await getServices()).providers.deletePage(providerId, (ids) => endLifecycles(context, providerId, ids)),
});

df.app.activity('cascadeFinish', {
  handler: async (providerId: string) => (await getServices()).providers.finishDelete(providerId),
});
