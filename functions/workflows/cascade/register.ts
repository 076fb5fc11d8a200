import * as df from '../../lib/durable';
import { getServices } from '../../lib/runtime';
import { durableClientInput, registerActivity } from '../common';
import { endLifecycles } from '../lifecycle/client';
import { cascadeDeletePage, cascadeFinish, PROVIDER_CASCADE } from './names';
import { deleteProviderCascade } from './orchestrator';

// The background cascade of DELETE /providers/{id}: its orchestrator and activities.

df.app.orchestration(PROVIDER_CASCADE, deleteProviderCascade);

registerActivity(cascadeDeletePage, async (providerId, context) => (await getServices()).providers.deletePage(providerId, (connections) => endLifecycles(context, connections)), {
  extraInputs: [durableClientInput],
});
registerActivity(cascadeFinish, async (providerId) => (await getServices()).providers.finishDelete(providerId));
