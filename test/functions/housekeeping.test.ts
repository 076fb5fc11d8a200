import { InvocationContext } from '@azure/functions';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { ManualClock } from '../../local/durable/clock';
import { DurableDriver } from '../../local/durable/driver';
import { clientOf, eventually, loadApp } from '../local/durable/support';

// Housekeeping on the durable driver: finished instances older than a week go (notices, and the
// lifecycles of deleted connections), recent ones and running ones (lifecycles) stay.

const app = loadApp();
const { df } = app;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the shim is in place
const { publishNotice } = require('../../functions/workflows/lifecycle/orchestrator') as typeof import('../../functions/workflows/lifecycle/orchestrator');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { purgeFinishedOrchestrations } = require('../../functions/housekeeping') as typeof import('../../functions/housekeeping');

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
  const driver = new DurableDriver({
    registrations: app.core.registrations,
    storage: { connectionString: azurite.connectionString, tablePrefix: 'housekeeping' },
    clock,
    rpcPort: 0,
    log: () => undefined,
  });
  await driver.start();
  try {
    const client = clientOf(app, driver);
    await client.startNew('publishNotice', { instanceId: 'old-notice', input: { type: 'connection.deleted', providerId: 'p', connectionId: 'c' } });
    await client.startNew('waitsForever', { instanceId: 'old-running' });
    await eventually(
      () => client.getStatus('old-notice'),
      (s) => s.runtimeStatus === 'Completed',
    );
    clock.set(new Date());
    await client.startNew('publishNotice', { instanceId: 'new-notice', input: { type: 'connection.deleted', providerId: 'p', connectionId: 'd' } });
    await eventually(
      () => client.getStatus('new-notice'),
      (s) => s.runtimeStatus === 'Completed',
    );

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

it('purges a lifecycle a week after it ended, one that is still running never, and registers no other purge', async () => {
  const clock = new ManualClock(new Date(Date.now() - 10 * 24 * 3600_000));
  const driver = new DurableDriver({
    registrations: app.core.registrations,
    storage: { connectionString: azurite.connectionString, tablePrefix: 'housekeeping2' },
    clock,
    rpcPort: 0,
    log: () => undefined,
  });
  await driver.start();
  try {
    const client = clientOf(app, driver);
    for (const id of ['lifecycle:p:ended:1', 'lifecycle:p:running:1']) {
      await client.startNew('waitsForever', { instanceId: id });
      await eventually(
        () => client.getStatus(id),
        (s) => s.runtimeStatus === 'Running',
      );
    }
    await client.terminate('lifecycle:p:ended:1', 'connection deleted');
    await eventually(
      () => client.getStatus('lifecycle:p:ended:1'),
      (s) => s.runtimeStatus === 'Terminated',
    );
    // Ended eight days ago; the same connection created again since has a lifecycle of its own.
    clock.set(Date.now() - 8 * 24 * 3600_000);
    await client.startNew('waitsForever', { instanceId: 'lifecycle:p:ended:2' });
    clock.set(new Date());

    const input = df.input.durableClient();
    const context = new InvocationContext({ functionName: 'purgeFinishedOrchestrations', options: { trigger: { type: 'timerTrigger', name: 'timer' }, extraInputs: [input] } });
    context.extraInputs.set(input, driver.extraInput({ type: input.type, direction: 'in', name: input.name }));
    await purgeFinishedOrchestrations(undefined, context);

    await expect(client.getStatus('lifecycle:p:ended:1')).rejects.toBeDefined();
    expect((await client.getStatus('lifecycle:p:running:1')).runtimeStatus).toBe('Running');
    expect((await client.getStatus('lifecycle:p:ended:2')).runtimeStatus).toBe('Running');
    // Ended lifecycles are not purged by a timer of their own (it listed every ended instance and raced restarts).
    expect(app.core.registrations.map((r) => r.metadata.name).filter((n) => /purge.*lifecycle/i.test(n))).toEqual([]);
  } finally {
    await driver.stop();
  }
});
