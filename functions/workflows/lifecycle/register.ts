import * as df from '../../lib/durable';
import { getServices } from '../../lib/runtime';
import { registerActivity } from '../common';
import { CONNECTION_LIFECYCLE, lifecycleEvaluate, lifecycleNotify, lifecycleRefresh, PUBLISH_NOTICE } from './names';
import { connectionLifecycle, publishNotice } from './orchestrator';

// The connection lifecycle's registrations: its orchestrators and its three activities, each one
// call into shared/lifecycle.

df.app.orchestration(CONNECTION_LIFECYCLE, connectionLifecycle);
df.app.orchestration(PUBLISH_NOTICE, publishNotice);

registerActivity(lifecycleEvaluate, async (input) => (await getServices()).lifecycle.evaluate(input.providerId, input.connectionId, Date.parse(input.now), input.generation));
registerActivity(lifecycleRefresh, async (input) => (await getServices()).lifecycle.refresh(input.providerId, input.connectionId, input.knownVersion, input.generation));
registerActivity(lifecycleNotify, async (notice) => (await getServices()).lifecycle.notify(notice));
