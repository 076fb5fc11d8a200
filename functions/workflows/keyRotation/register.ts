import { app, type InvocationContext } from '@azure/functions';
import * as df from '../../lib/durable';
import { getServices } from '../../lib/runtime';
import { durableClientInput, registerActivity, startOperation } from '../common';
import { rewrapPage, ROTATE_KEYS, ROTATE_KEYS_ID } from './names';
import { rotateKeys } from './orchestrator';

// Key rotation's registrations: the orchestration, its page activity, and a daily timer (Key Vault
// rotates the KEK on its own policy; this moves the data keys after it). POST /operations/rotateKeys
// (functions/operations.ts) runs it on demand.

df.app.orchestration(ROTATE_KEYS, rotateKeys);

registerActivity(rewrapPage, async (input) => (await getServices()).maintenance.rewrapPage(input.table, input.continuation));

app.timer('rotateKeysDaily', {
  schedule: '0 30 3 * * *',
  extraInputs: [durableClientInput],
  handler: async (_timer: unknown, context: InvocationContext) => {
    await startOperation(context, ROTATE_KEYS, ROTATE_KEYS_ID, {});
  },
});
