import type { InvocationContext } from '@azure/functions';
import type * as DF from 'durable-functions';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { ManualClock } from '../../local/durable/clock';
import { DurableDriver } from '../../local/durable/driver';
import { ACTIVE_STATUSES, RUNTIME_STATUSES } from '../../local/durable/history';
import { clientOf, eventually, loadApp } from '../local/durable/support';

// functions/lib/durable.ts registers orchestrations and activities without loading
// durable-functions at start. What it registers must be what the library registers (the host
// reads the bindings), and the handlers, made on first invocation, must run orchestrations as the
// library's do: both kinds side by side here, on the local durable driver over Azurite.

const app = loadApp();
const { df } = app;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the core shim is in place
const lazy = require('../../functions/lib/durable') as typeof import('../../functions/lib/durable');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { FINISHED_STATUSES, isActive } = require('../../functions/workflows/common') as typeof import('../../functions/workflows/common');

const attempts = new Map<string, number>();
const flaky = (input: { key: string; failures: number }) => {
  const n = (attempts.get(input.key) ?? 0) + 1;
  attempts.set(input.key, n);
  if (n <= input.failures) throw new Error(`attempt ${n} failed`);
  return n;
};

// An activity handed a durable client reaches it through getClient.
df.app.activity('libFlaky', { handler: flaky });
df.app.activity('libFlakyClient', { extraInputs: [df.input.durableClient()], handler: (_: unknown, context: InvocationContext) => typeof df.getClient(context).startNew });
lazy.app.activity('lazyFlaky', { handler: flaky });
lazy.app.activity('lazyFlakyClient', { extraInputs: [lazy.input.durableClient()], handler: (_: unknown, context: InvocationContext) => typeof lazy.getClient(context).startNew });
const orchestrator = (activity: string, retry: () => DF.RetryOptions): DF.OrchestrationHandler =>
  function* (context) {
    const n = yield context.df.callActivityWithRetry(activity, retry(), context.df.getInput());
    const client = yield context.df.callActivity(`${activity}Client`, null);
    return { n, client };
  };
df.app.orchestration(
  'libRetrying',
  orchestrator('libFlaky', () => new df.RetryOptions(1000, 3)),
);
lazy.app.orchestration(
  'lazyRetrying',
  orchestrator('lazyFlaky', () => new lazy.RetryOptions(1000, 3)),
);

let azurite: EmbeddedAzurite;
let driver: DurableDriver;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await driver?.stop();
  await azurite?.stop();
});

const bindingsOf = (name: string) => app.core.registrations.find((r) => r.metadata.name === name)?.metadata.bindings;

it('registers the same bindings as durable-functions does', () => {
  expect(bindingsOf('lazyRetrying')).toEqual(bindingsOf('libRetrying'));
  expect(bindingsOf('lazyFlaky')).toEqual(bindingsOf('libFlaky'));
  expect(bindingsOf('lazyFlakyClient')).toEqual(bindingsOf('libFlakyClient'));
  expect(Object.values(bindingsOf('lazyRetrying') ?? {}).map((b) => b.type)).toEqual(['orchestrationTrigger']);
  expect(
    Object.values(bindingsOf('lazyFlakyClient') ?? {})
      .map((b) => b.type)
      .sort(),
  ).toEqual(['activityTrigger', 'durableClient']);
  expect(lazy.RetryOptions).toBe(df.RetryOptions);
  expect(lazy.OrchestrationRuntimeStatus).toBe(df.OrchestrationRuntimeStatus);
});

it('runs an orchestration with retried activities and a durable client like the library', async () => {
  const clock = new ManualClock();
  driver = new DurableDriver({ registrations: app.core.registrations, storage: { connectionString: azurite.connectionString, tablePrefix: 'lazydurable' }, clock, rpcPort: 0, log: () => undefined });
  await driver.start();
  const client = clientOf(app, driver);
  const outputs: Record<string, unknown> = {};
  for (const [name, key] of [
    ['libRetrying', 'lib'],
    ['lazyRetrying', 'lazy'],
  ] as const) {
    const id = await client.startNew(name, { input: { key, failures: 2 } });
    const status = await eventually(
      async () => {
        if (clock.waiting) clock.advance(1000);
        return client.getStatus(id);
      },
      (s) => ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus),
      15_000,
    );
    outputs[name] = { status: status.runtimeStatus, output: status.output };
  }
  expect(outputs.lazyRetrying).toEqual({ status: 'Completed', output: { n: 3, client: 'function' } });
  expect(outputs.lazyRetrying).toEqual(outputs.libRetrying);
}, 30_000);

it('counts as still running the statuses a start is refused for, Suspended included (the extension, as local/durable); the rest are finished', () => {
  expect(RUNTIME_STATUSES.filter(isActive)).toEqual([...ACTIVE_STATUSES].sort((a, b) => RUNTIME_STATUSES.indexOf(a) - RUNTIME_STATUSES.indexOf(b)));
  expect(isActive('Suspended')).toBe(true);
  expect([...FINISHED_STATUSES].sort()).toEqual(RUNTIME_STATUSES.filter((s) => !ACTIVE_STATUSES.includes(s)).sort());
});
