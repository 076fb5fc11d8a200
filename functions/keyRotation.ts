import { app, type InvocationContext } from '@azure/functions';
import * as df from './lib/durable';
import { ROTATE_KEYS_ID, rotateKeys, type SecretTable } from './lib/keyRotationOrchestrator';
import { durableClientInput } from './lib/lifecycle';
import { startOperation } from './lib/operations';
import { getServices } from './lib/runtime';
import { activity } from './lib/retryPolicy';

// Key rotation's registrations: the orchestration, its page activity, and a daily timer (Key Vault
// rotates the KEK on its own policy; this moves the data keys after it). POST /operations/rotateKeys
// (functions/operations.ts) runs it on demand.

df.app.orchestration('rotateKeys', rotateKeys);

df.app.activity('rewrapPage', {
  handler: activity(async (input: { table: SecretTable; continuation?: string }) => (await getServices()).maintenance.rewrapPage(input.table, input.continuation)),
});

app.timer('rotateKeysDaily', {
  schedule: '0 30 3 * * *',
  extraInputs: [durableClientInput],
  handler: async (_timer: unknown, context: InvocationContext) => {
    await startOperation(context, 'rotateKeys', ROTATE_KEYS_ID, {});
  },
});
