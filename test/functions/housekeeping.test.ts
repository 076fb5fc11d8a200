import { InvocationContext } from '@azure/functions';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { ManualClock } from '../../local/durable/clock';
import { DurableDriver } from '../../local/durable/driver';
import { clientOf, eventually, loadApp } from '../local/durable/support';

// Housekeeping on the durable driver: finished instances older than a week go, recent ones and
// running ones (lifecycles) stay; lifecycles that have ended go at once.

const app = loadApp();
const { df } = app;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the shim is in place
const { publishNotice } = require('../../functions/lib/lifecycleOrchestrator') as typeof import('../../functions/lib/lifecycleOrchestrator');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { purgeEndedLifecycles, purgeFinishedOrchestrations } = require('../../functions/housekeeping') as typeof import('../../functions/housekeeping');

df.app.orchestration('publishNotice', publishNotice);
df.app.activity('lifecycleNotify', { handler: () => undefined });
df.app.orchestration('waitsForever', function* (context) {
  yield context.df.waitForExternalEvent('never');
});

let azurite: EmbeddedAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
}, 20_000);
afterAll(() => azurite?.stop());

it('purges finished orchestrations older than a week, and nothing else', async () => {
  const clock = new ManualClock(new Date(Date.now() - 10 * 24 * 3600_000));
  const driver = new DurableDriver({ registrations: app.core.registrations, storage: { connectionString: azurite.connectionString, tablePrefix: 'housekeeping' }, clock, rpcPort: 0, log: () => undefined });
  await driver.start();
  try {
    const client = clientOf(app, driver);
    await client.startNew('publishNotice', { instanceId: 'old-notice', input: { type: 'connection.deleted', providerId: 'p', connectionId: 'c' } });
    await client.startNew('waitsForever', { instanceId: 'old-running' });
    await eventually(() => client.getStatus('old-notice'), (s) => s.runtimeStatus === 'Completed');
    clock.set(new Date());
    await client.startNew('publishNotice', { instanceId: 'new-notice', input: { type: 'connection.deleted', providerId: 'p', connectionId: 'd' } });
    await eventually(() => client.getStatus('new-notice'), (s) => s.runtimeStatus === 'Completed');

    const input = df.input.durableClient();
    const context = new InvocationContext({ functionName: 'purgeFinishedOrchestrations', options: { trigger: { type: 'timerTrigger', name: 'timer' }, extraInputs: [input] } });
    context.extraInputs.set(input, driver.extraInput({ type: input.type, direction: 'in', name: input.name }));
    await purgeFinishedOrchestrations(undefined, context);

    await expect(client.getStatus('old-notice')).rejects.toBeDefined();
    expect((await client.getStatus('new-notice')).runtimeStatus).toBe('Completed');
    expect((await client.getStatus('old-running')).runtimeStatus).toBe('Running');
  } finally {
    await driver.stop();
  }
});

it('purges lifecycles that have ended, at once, and nothing else', async () => {
  const driver = new DurableDriver({ registrations: app.core.registrations, storage: { connectionString: azurite.connectionString, tablePrefix: 'housekeeping2' }, clock: new ManualClock(new Date()), rpcPort: 0, log: () => undefined });
  await driver.start();
  try {
    const client = clientOf(app, driver);
    for (const id of ['lifecycle:p:ended', 'lifecycle:p:running', 'not-a-lifecycle']) {
      await client.startNew('waitsForever', { instanceId: id });
      await eventually(() => client.getStatus(id), (s) => s.runtimeStatus === 'Running');
    }
    for (const id of ['lifecycle:p:ended', 'not-a-lifecycle']) {
      await client.terminate(id, 'connection deleted');
      await eventually(() => client.getStatus(id), (s) => s.runtimeStatus === 'Terminated');
    }
    const input = df.input.durableClient();
    const context = new InvocationContext({ functionName: 'purgeEndedLifecycles', options: { trigger: { type: 'timerTrigger', name: 'timer' }, extraInputs: [input] } });
    context.extraInputs.set(input, driver.extraInput({ type: input.type, direction: 'in', name: input.name }));
    await purgeEndedLifecycles(undefined, context);

    await expect(client.getStatus('lifecycle:p:ended')).rejects.toBeDefined();
    expect((await client.getStatus('lifecycle:p:running')).runtimeStatus).toBe('Running');
    expect((await client.getStatus('not-a-lifecycle')).runtimeStatus).toBe('Terminated');
  } finally {
    await driver.stop();
  }
});
