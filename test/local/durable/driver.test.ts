import type { AddressInfo } from 'node:net';
import { odata, TableClient } from '@azure/data-tables';
import { app as functionsApp, type HttpRequest, type InvocationContext } from '@azure/functions';
import type * as DF from 'durable-functions';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { ManualClock } from '../../../local/durable/clock';
import { DurableDriver } from '../../../local/durable/driver';
import { httpRoutes, type HttpRoute } from '../../../local/host/routes';
import { createHostServer } from '../../../local/host/server';
import { rawRequest } from '../../support/rawRequest';
import { clientOf, eventually, holdEpisodes as hold, loadApp, promptly, settle } from './support';

// The local durable driver running the app's own kind of registrations (df.app.orchestration,
// df.app.activity) through the local host's @azure/functions-core, driven through the library's
// DurableClient exactly as an HTTP function would, over an embedded Azurite.

const app = loadApp();
const { df } = app;
type Ctx = DF.OrchestrationContext;

// ---- activities
df.app.activity('hello', { handler: (name: string) => `Hello ${name}` });
const attempts = new Map<string, number>();
df.app.activity('flaky', {
  handler: (input: { key: string; failures: number }) => {
    const n = (attempts.get(input.key) ?? 0) + 1;
    attempts.set(input.key, n);
    if (n <= input.failures) throw new Error(`attempt ${n} failed`);
    return n;
  },
});
df.app.activity('fails', {
  handler: () => {
    throw new Error('no luck');
  },
});
let gate: Promise<void> = new Promise(() => undefined);
let gatedRuns = 0;
df.app.activity('gated', {
  handler: async (input: string) => {
    gatedRuns++;
    await gate;
    return `${input} passed`;
  },
});

// ---- orchestrators
df.app.orchestration('chain', function* (context: Ctx) {
  const out: unknown[] = [];
  for (const city of context.df.getInput<string[]>()) out.push(yield context.df.callActivity('hello', city));
  return out;
});
df.app.orchestration('retrying', function* (context: Ctx) {
  const input = context.df.getInput<{ key: string; failures: number }>();
  // A retried activity beside a plain one: every later task must keep the numbers both sides agree on.
  const [n, greeting] = (yield context.df.Task.all([context.df.callActivityWithRetry('flaky', new df.RetryOptions(1000, 3), input), context.df.callActivity('hello', 'beside')])) as [number, string];
  const after = yield context.df.callActivity('hello', 'after');
  return { n, greeting, after };
});
df.app.orchestration('retryExhausted', function* (context: Ctx) {
  try {
    yield context.df.callActivityWithRetry('fails', new df.RetryOptions(500, 2), null);
    return 'unexpected';
  } catch (err) {
    return (err as Error).message;
  }
});
df.app.orchestration('sleeper', function* (context: Ctx) {
  const start = context.df.currentUtcDateTime;
  yield context.df.createTimer(new Date(start.getTime() + context.df.getInput<number>()));
  return { start: start.toISOString(), woke: context.df.currentUtcDateTime.toISOString() };
});
df.app.orchestration('approval', function* (context: Ctx) {
  const first = yield context.df.callActivity('hello', 'before');
  const decision = yield context.df.waitForExternalEvent('Approval');
  context.df.setCustomStatus({ stage: 'approved' });
  return { first, decision };
});
df.app.orchestration('counter', function* (context: Ctx) {
  const n = context.df.getInput<number>();
  if (n < 3) {
    yield context.df.callActivity('hello', String(n));
    context.df.continueAsNew(n + 1);
    return undefined;
  }
  return n;
});
df.app.orchestration('waiter', function* (context: Ctx) {
  return yield context.df.waitForExternalEvent('go');
});
df.app.orchestration('boom', function* (context: Ctx) {
  yield context.df.callActivity('hello', 'x');
  throw new Error('kaboom');
});
df.app.orchestration('catcher', function* (context: Ctx) {
  try {
    yield context.df.callActivity('fails', 1);
    return 'unexpected';
  } catch (err) {
    return (err as Error).message;
  }
});
df.app.orchestration('unknownActivity', function* (context: Ctx) {
  return yield context.df.callActivity('nope', 1);
});
df.app.orchestration('race', function* (context: Ctx) {
  // The shape of an eternal lifecycle: sleep on a timer unless woken, cancel the loser, go round again.
  const round = context.df.getInput<number>();
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
  const woken = context.df.waitForExternalEvent('wake');
  const first = yield context.df.Task.any([timer, woken]);
  if (first === woken) timer.cancel();
  const said = yield context.df.callActivity('hello', `${round}:${first === woken ? 'event' : 'timer'}`);
  if (round < 2) {
    context.df.continueAsNew(round + 1);
    return undefined;
  }
  return said;
});
df.app.orchestration('fanOut', function* (context: Ctx) {
  const n = context.df.getInput<number>();
  const said = (yield context.df.Task.all(Array.from({ length: n }, (_, i) => context.df.callActivity('hello', String(i))))) as string[];
  return `${said.length}:${said[n - 1]}`;
});
df.app.orchestration('twoEvents', function* (context: Ctx) {
  const first = yield context.df.waitForExternalEvent('e');
  const second = yield context.df.waitForExternalEvent('e');
  return [first, second];
});
let flip = false;
df.app.orchestration('fickle', function* (context: Ctx) {
  // Not deterministic: a replay asks for another activity than the first run did.
  flip = !flip;
  yield context.df.callActivity(flip ? 'hello' : 'fails', 'x');
  return 'done';
});
const recorded: string[] = [];
df.app.activity('record', {
  handler: (what: string) => {
    recorded.push(what);
    return what;
  },
});
df.app.orchestration('recorder', function* (context: Ctx) {
  const first = yield context.df.waitForExternalEvent('go');
  yield context.df.callActivity('record', `${context.df.instanceId}:${String(first)}`);
  return yield context.df.waitForExternalEvent('go');
});
df.app.orchestration('cycler', function* (context: Ctx) {
  const n = context.df.getInput<number>();
  yield context.df.callActivity('record', `${context.df.instanceId}:${n}`);
  yield context.df.waitForExternalEvent('next');
  context.df.continueAsNew(n + 1);
  return undefined;
});
df.app.orchestration('noAttempts', function* (context: Ctx) {
  return yield context.df.callActivityWithRetry('hello', new df.RetryOptions(1000, 0), 'x');
});
df.app.orchestration('weekLongRetries', function* (context: Ctx) {
  const retry = new df.RetryOptions(1000, 3);
  retry.maxRetryIntervalInMilliseconds = 7 * 86_400_000;
  return yield context.df.callActivityWithRetry('hello', retry, 'x');
});
df.app.orchestration('gatedThenTimer', function* (context: Ctx) {
  const passed = yield context.df.callActivity('gated', 'gate');
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 60_000));
  const decision = yield context.df.waitForExternalEvent('resume');
  return { passed, decision };
});

// An HTTP function of the app's kind: a durable client through its extra input.
functionsApp.http('startOrchestration', {
  route: 'orchestrators/{name}',
  methods: ['POST'],
  extraInputs: [df.input.durableClient()],
  handler: async (request: HttpRequest, context: InvocationContext) => {
    const client = df.getClient(context);
    const instanceId = await client.startNew(request.params.name, { input: await request.json() });
    return client.createCheckStatusResponse(request, instanceId);
  },
});

let azurite: EmbeddedAzurite;
let tables = 0;
const drivers: DurableDriver[] = [];
const logs: string[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
}, 20000);
/** Releases of episodes still held (see holdEpisodes), so that a failed test does not hold the next. */
const holds: Array<() => void> = [];
afterEach(async () => {
  for (const release of holds.splice(0)) release();
  await Promise.all(drivers.splice(0).map((d) => d.stop()));
});
afterAll(async () => {
  await azurite?.stop();
});

async function startDriver(clock: ManualClock, tablePrefix = `durable${++tables}`, options: { clientMessageDelayMs?: number } = {}): Promise<{ driver: DurableDriver; client: DF.DurableClient }> {
  const driver = new DurableDriver({
    registrations: app.core.registrations,
    storage: { connectionString: azurite.connectionString, tablePrefix },
    clock,
    rpcPort: 0,
    log: (level, message) => logs.push(`${level}: ${message}`),
    ...options,
  });
  await driver.start();
  drivers.push(driver);
  return { driver, client: clientOf(app, driver) };
}

const finished = (s: DF.DurableOrchestrationStatus) => ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus);
const until = (client: DF.DurableClient, id: string, done: (s: DF.DurableOrchestrationStatus) => boolean = finished) => eventually(() => client.getStatus(id), done);

function holdEpisodes(name: string): { entered: Promise<void>; release: () => void } {
  const held = hold(app, name);
  holds.push(held.release);
  return held;
}

async function historyRows(tablePrefix: string, id: string): Promise<string[]> {
  const table = TableClient.fromConnectionString(azurite.connectionString, `${tablePrefix}DurableHistory`, { allowInsecureConnection: true });
  const keys: string[] = [];
  for await (const e of table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${id}` } })) keys.push(e.rowKey as string);
  return keys;
}

/** The raw HTTP API (what DurableClient calls), for what the library's types leave out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
async function api(driver: DurableDriver, path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(new URL(path, driver.rpcBaseUrl), init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

it('runs an activity chain to its output', async () => {
  const { client } = await startDriver(new ManualClock());
  const id = await client.startNew('chain', { input: ['Tokyo', 'Seattle', 'London'] });
  const status = await until(client, id);
  expect(status).toMatchObject({ name: 'chain', instanceId: id, runtimeStatus: 'Completed', input: ['Tokyo', 'Seattle', 'London'] });
  expect(status.output).toEqual(['Hello Tokyo', 'Hello Seattle', 'Hello London']);
});

it('hands functions their client data and serves the management URLs through the host', async () => {
  const { driver } = await startDriver(new ManualClock());
  const table: { routes: HttpRoute[] } = { routes: httpRoutes(app.core.registrations) };
  const server = createHostServer(table, [(req, res) => driver.handleHttp(req, res)], { durableClient: (binding) => driver.extraInput(binding) });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${base}/api/orchestrators/chain`, { method: 'POST', body: JSON.stringify(['Oslo']) });
    expect(res.status).toBe(202);
    const links = (await res.json()) as Record<string, string>;
    expect(links.statusQueryGetUri).toBe(`${base}/runtime/webhooks/durabletask/instances/${links.id}?taskHub=TestHubName&connection=Storage&code=${driver.systemKey}`);
    expect(res.headers.get('location')).toBe(links.statusQueryGetUri);
    const done = await eventually(
      async () => (await fetch(links.statusQueryGetUri)).json() as Promise<{ runtimeStatus: string; output: unknown }>,
      (s) => s.runtimeStatus === 'Completed',
    );
    expect(done.output).toEqual(['Hello Oslo']);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
});

/** The status of a request sent as given, so that Host and Origin can be what a browser page or a rebinding DNS name sends. */
const status = async (...args: Parameters<typeof rawRequest>) => (await rawRequest(...args)).status;

it('obeys no browser: a cross-site request or a foreign Host is refused, and the webhook routes need the system key', async () => {
  const { driver, client } = await startDriver(new ManualClock());
  const rpc = new URL(driver.rpcBaseUrl);
  // A page's text/plain POST needs no preflight: it must not start (or delete) anything.
  const crossSite = await status(rpc.origin, '/durabletask/orchestrators/chain/evil', { method: 'POST', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: '["x"]' });
  expect(crossSite).toBe(403);
  // DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
  expect(await status(rpc.origin, '/durabletask/instances/', { headers: { host: `evil.example:${rpc.port}` } })).toBe(403);
  await expect(client.getStatus('evil')).rejects.toThrow(/404/);
  // Under the host's webhook path, the key the management URLs carry, as in Azure.
  const hook = '/runtime/webhooks/durabletask/instances/nope';
  expect(await status(rpc.origin, hook)).toBe(401);
  expect(await status(rpc.origin, `${hook}?code=wrong`)).toBe(401);
  expect(await status(rpc.origin, `${hook}?code=${driver.systemKey}`)).toBe(404);
  expect(driver.clientData().requiredQueryStringParameters).toBe(`code=${driver.systemKey}`);
  // The library's own client (rpcBaseUrl, no key, no Origin) is unaffected.
  expect(await client.startNew('chain', { instanceId: 'fine', input: ['Oslo'] })).toBe('fine');
});

it('retries a failing activity on durable timers per RetryOptions, then succeeds', async () => {
  const clock = new ManualClock();
  const { client } = await startDriver(clock);
  const t0 = clock.now();
  const id = await client.startNew('retrying', { input: { key: 'retry-1', failures: 2 } });
  // Each failure arms a retry timer 1 s ahead on the driver's clock; nothing retries until it moves.
  const status = await eventually(async () => {
    if (clock.waiting) clock.advance(1000);
    return client.getStatus(id);
  }, finished);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({ n: 3, greeting: 'Hello beside', after: 'Hello after' });
  expect(attempts.get('retry-1')).toBe(3);
  expect(clock.now() - t0).toBe(2000);
});

it('surfaces the last failure once the attempts are spent, after the trailing timer', async () => {
  const clock = new ManualClock();
  const { client } = await startDriver(clock);
  const id = await client.startNew('retryExhausted');
  const status = await eventually(async () => {
    if (clock.waiting) clock.advance(500);
    return client.getStatus(id);
  }, finished);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toMatch(/^Activity function 'fails' failed: {2}no luck \n \{/);
});

it('fails callActivityWithRetry with no attempt, or with a retry interval beyond what the Azure Storage provider allows', async () => {
  const { client } = await startDriver(new ManualClock());
  const none = await client.startNew('noAttempts');
  expect(await until(client, none)).toMatchObject({ runtimeStatus: 'Failed', output: expect.stringContaining('maxNumberOfAttempts must be at least 1') });
  const long = await client.startNew('weekLongRetries');
  expect(await until(client, long)).toMatchObject({ runtimeStatus: 'Failed', output: 'The Azure Storage provider supports a maximum of 6 days for time-based delays' });
});

it('waits on a durable timer until the injected clock reaches it, with currentUtcDateTime from the clock', async () => {
  const clock = new ManualClock(Date.UTC(2030, 5, 1, 12));
  const { client } = await startDriver(clock);
  const id = await client.startNew('sleeper', { input: 3_600_000 });
  await eventually(
    async () => clock.waiting,
    (n) => n === 1,
  );
  clock.advance(3_599_000);
  await settle();
  expect((await client.getStatus(id)).runtimeStatus).toBe('Running');
  clock.advance(1000);
  const status = await until(client, id);
  expect(status.output).toEqual({ start: '2030-06-01T12:00:00.000Z', woke: '2030-06-01T13:00:00.000Z' });
});

it('splits a timer beyond six days into intervals, as the Azure Storage provider needs', async () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const { driver, client } = await startDriver(clock);
  const id = await client.startNew('sleeper', { input: 10 * 86_400_000 });
  await eventually(
    async () => clock.waiting,
    (n) => n === 1,
  );
  for (const days of [3, 3, 3]) {
    clock.advance(days * 86_400_000);
    await eventually(
      async () => clock.waiting,
      (n) => n === 1,
    );
    expect((await client.getStatus(id)).runtimeStatus).toBe('Running');
  }
  clock.advance(86_400_000);
  const status = await until(client, id);
  expect(status.output).toEqual({ start: '2030-01-01T00:00:00.000Z', woke: '2030-01-11T00:00:00.000Z' });
  const history = (await api(driver, `instances/${id}?showHistory=true`)).body.historyEvents as { EventType: string; FireAt?: string }[];
  expect(history.filter((e) => e.EventType === 'TimerCreated').map((e) => e.FireAt)).toEqual([
    '2030-01-04T00:00:00.000Z',
    '2030-01-07T00:00:00.000Z',
    '2030-01-10T00:00:00.000Z',
    '2030-01-11T00:00:00.000Z',
  ]);
});

it('delivers an event raised through DurableClient to waitForExternalEvent', async () => {
  const { driver, client } = await startDriver(new ManualClock());
  const id = await client.startNew('approval', { instanceId: 'approval-1' });
  expect(id).toBe('approval-1');
  await eventually(
    async () => (await api(driver, `instances/${id}?showHistory=true`)).body.historyEvents?.length ?? 0,
    (n) => n >= 2,
  );
  await client.raiseEvent(id, 'Approval', { approvedBy: 'ops' });
  const status = await until(client, id);
  expect(status.output).toEqual({ first: 'Hello before', decision: { approvedBy: 'ops' } });
  expect(status.customStatus).toEqual({ stage: 'approved' });
  // Too late for a finished instance (410, which the client accepts), unknown for another.
  await expect(client.raiseEvent(id, 'Approval', 1)).resolves.toBeUndefined();
  await expect(client.raiseEvent('no-such-instance', 'Approval', 1)).rejects.toThrow("No instance with ID 'no-such-instance' found.");
});

it('keeps an event raised before the orchestrator waits for it', async () => {
  const { client } = await startDriver(new ManualClock());
  const id = await client.startNew('waiter');
  // As in Azure, an event needs a JSON body: raiseEvent without data is refused.
  await expect(client.raiseEvent(id, 'go', undefined)).rejects.toThrow(/status code: 400.*Invalid JSON content/);
  await client.raiseEvent(id, 'go', 'now');
  // startNew without input sends "" (axios JSON-encodes the empty string): that is the input.
  expect(await until(client, id)).toMatchObject({ input: '', output: 'now' });
});

it('starts a new execution with a fresh history on continueAsNew', async () => {
  const { driver, client } = await startDriver(new ManualClock());
  const id = await client.startNew('counter', { input: 0 });
  const status = await until(client, id);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', input: 3, output: 3 });
  const history = (await api(driver, `instances/${id}?showHistory=true&showHistoryOutput=true`)).body.historyEvents as Record<string, unknown>[];
  expect(history.map((e) => e.EventType)).toEqual(['ExecutionStarted', 'ExecutionCompleted']);
  expect(history[0]).toMatchObject({ FunctionName: 'counter', Input: '3' });
  expect(history[1]).toMatchObject({ OrchestrationStatus: 'Completed', Result: 3 });
});

it('runs a timer-or-event race with cancel and continueAsNew round after round', async () => {
  const clock = new ManualClock();
  const { driver, client } = await startDriver(clock);
  const id = await client.startNew('race', { instanceId: 'race-1', input: 0 });
  const round = async (n: number) =>
    eventually(
      async () => (await api(driver, `instances/${id}?showHistory=true`)).body,
      (s) => s.input === n && s.historyEvents?.some((e: { EventType: string }) => e.EventType === 'TimerCreated'),
    );
  await round(0);
  await client.raiseEvent(id, 'wake', null);
  await round(1);
  clock.advance(60_000);
  await round(2);
  await client.raiseEvent(id, 'wake', null);
  const status = await until(client, id);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 'Hello 2:event' });
  expect(logs.filter((l) => l.includes(id))).toEqual([]);
});

it('terminates a running instance', async () => {
  const { client } = await startDriver(new ManualClock());
  const id = await client.startNew('waiter');
  await until(client, id, (s) => s.runtimeStatus === 'Running');
  await client.terminate(id, 'no longer needed');
  const status = await until(client, id);
  expect(status).toMatchObject({ runtimeStatus: 'Terminated', output: 'no longer needed' });
  await expect(client.terminate(id, 'again')).resolves.toBeUndefined();
  await expect(client.terminate('no-such-instance', 'x')).rejects.toThrow("No instance with ID 'no-such-instance' found.");
});

it('queues a termination: an episode in flight does not hold the caller up, and the instance reads Running until an episode takes it', async () => {
  const { client } = await startDriver(new ManualClock());
  const id = await client.startNew('twoEvents', { instanceId: 'queued-terminate' });
  await until(client, id, (s) => s.runtimeStatus === 'Running');
  const held = holdEpisodes('twoEvents');
  await client.raiseEvent(id, 'e', 1);
  await held.entered;
  await promptly(client.terminate(id, 'connection deleted'), 'terminate');
  expect((await client.getStatus(id)).runtimeStatus).toBe('Running');
  held.release();
  expect(await until(client, id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'connection deleted' });
});

it("with clientMessageDelayMs, takes a client's start, event and termination only that long after they were sent, as an idle app's queue poll does", async () => {
  const clock = new ManualClock();
  const { client } = await startDriver(clock, undefined, { clientMessageDelayMs: 30_000 });
  const id = await client.startNew('twoEvents', { instanceId: 'polled' });
  await settle();
  expect((await client.getStatus(id)).runtimeStatus).toBe('Pending');
  clock.advance(30_000);
  await until(client, id, (s) => s.runtimeStatus === 'Running');
  await client.raiseEvent(id, 'e', 1);
  clock.advance(10_000);
  await client.terminate(id, 'connection deleted');
  await settle();
  expect((await client.getStatus(id)).runtimeStatus).toBe('Running');
  // The event is due first: taken alone, then the termination 10 s later.
  clock.advance(20_000);
  await eventually(
    async () => (await client.getStatus(id)).lastUpdatedTime,
    (t) => Date.parse(String(t)) === clock.now(),
  );
  expect((await client.getStatus(id)).runtimeStatus).toBe('Running');
  clock.advance(10_000);
  expect(await until(client, id)).toMatchObject({ runtimeStatus: 'Terminated', output: 'connection deleted' });
});

it("sets the instance's created time at each execution's start, continue-as-new included, as the Azure Storage provider does", async () => {
  const clock = new ManualClock();
  const { client } = await startDriver(clock);
  const id = await client.startNew('cycler', { instanceId: 'created-time', input: 0 });
  const started = clock.now();
  await eventually(
    async () => recorded,
    (r) => r.includes(`${id}:0`),
  );
  clock.advance(60_000);
  await client.raiseEvent(id, 'next', null);
  const next = await eventually(
    () => client.getStatus(id),
    (s) => s.input === 1,
  );
  expect(Date.parse(String(next.createdTime))).toBe(started + 60_000);
});

it('runs the next execution of a continue-as-new in the same episode, before a termination queued meanwhile', async () => {
  const { driver, client } = await startDriver(new ManualClock());
  const id = await client.startNew('cycler', { instanceId: 'cycler-1', input: 0 });
  await eventually(
    async () => ((await api(driver, `instances/${id}?showHistory=true`)).body.historyEvents ?? []).map((e: { EventType: string }) => e.EventType) as string[],
    (types) => types.includes('TaskCompleted'),
  );
  const held = holdEpisodes('cycler');
  await client.raiseEvent(id, 'next', null);
  await held.entered;
  await promptly(client.terminate(id, 'stop'), 'terminate');
  held.release();
  expect(await until(client, id)).toMatchObject({ runtimeStatus: 'Terminated', input: 1 });
  // In Azure the new execution's first episode is part of the work item that continued as new.
  await eventually(
    async () => recorded,
    (r) => r.includes(`${id}:1`),
  );
});

it('refuses to purge an instance that has not ended, and purges it once terminated', async () => {
  const { driver, client } = await startDriver(new ManualClock());
  const id = await client.startNew('waiter', { instanceId: 'purge-running' });
  await until(client, id, (s) => s.runtimeStatus === 'Running');
  await expect(client.purgeInstanceHistory(id)).rejects.toThrow(/status code: 500.*only an instance that has ended/);
  const raw = await api(driver, `instances/${id}`, { method: 'DELETE' });
  expect(raw).toMatchObject({ status: 500, body: { ExceptionType: 'System.InvalidOperationException' } });
  expect((await client.getStatus(id)).runtimeStatus).toBe('Running');
  await client.terminate(id, 'done with it');
  await until(client, id);
  expect(await client.purgeInstanceHistory(id)).toEqual({ instancesDeleted: 1 });
});

it('purges by filter as the Azure Storage provider does: the rows go at once, an episode in flight stores nothing but its activities run, a queued termination is dropped', async () => {
  const tablePrefix = `durable${++tables}`;
  const clock = new ManualClock();
  const { client } = await startDriver(clock, tablePrefix);
  const id = await client.startNew('recorder', { instanceId: 'purged-in-flight' });
  await until(client, id, (s) => s.runtimeStatus === 'Running');
  const held = holdEpisodes('recorder');
  await client.raiseEvent(id, 'go', 1);
  await held.entered;
  await promptly(client.terminate(id, 'deleted'), 'terminate');
  // [Running] holds no finished status, so the filter is the time range alone.
  const everything = { createdTimeFrom: new Date(clock.now() - 60_000), runtimeStatus: [df.OrchestrationRuntimeStatus.Running] };
  expect(await promptly(client.purgeInstanceHistoryBy(everything), 'purge')).toEqual({ instancesDeleted: 1 });
  await expect(client.getStatus(id)).rejects.toThrow(/404/);
  const before = logs.length;
  held.release();
  // The activity the episode scheduled was sent before its history write failed: it runs.
  await eventually(
    async () => recorded,
    (r) => r.includes(`${id}:1`),
  );
  await eventually(async () => logs.slice(before).some((l) => l.includes('a termination reached it after its purge')), Boolean);
  await settle();
  await expect(client.getStatus(id)).rejects.toThrow(/404/);
  expect(await historyRows(tablePrefix, id)).toEqual([]);
});

it('brings back an instance purged by filter before its first episode was stored (that episode creates its rows)', async () => {
  const clock = new ManualClock();
  const { client } = await startDriver(clock);
  const held = holdEpisodes('recorder');
  const id = await client.startNew('recorder', { instanceId: 'purged-pending' });
  await held.entered;
  await promptly(client.purgeInstanceHistoryBy({ createdTimeFrom: new Date(clock.now() - 60_000) }), 'purge');
  held.release();
  const back = await eventually(
    () => client.getStatus(id).catch(() => undefined),
    (s) => s?.runtimeStatus === 'Running',
  );
  expect(back?.name).toBe('recorder');
});

it('purges by filter as the Azure Storage provider does: only finished statuses filter, and none means every instance in range', async () => {
  const clock = new ManualClock(Date.UTC(2030, 4, 1));
  const { client } = await startDriver(clock);
  const from = new Date(Date.UTC(2030, 3, 1));
  await until(client, await client.startNew('chain', { instanceId: 'f-done', input: ['A'] }));
  await until(client, await client.startNew('waiter', { instanceId: 'f-running' }), (s) => s.runtimeStatus === 'Running');
  expect(await client.purgeInstanceHistoryBy({ createdTimeFrom: from, runtimeStatus: [df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Running] })).toEqual({
    instancesDeleted: 1,
  });
  expect((await client.getStatusAll()).map((s) => s.instanceId)).toEqual(['f-running']);
  expect(await client.purgeInstanceHistoryBy({ createdTimeFrom: from, runtimeStatus: [df.OrchestrationRuntimeStatus.Running] })).toEqual({ instancesDeleted: 1 });
  expect(await client.getStatusAll()).toEqual([]);
});

it('refuses to start an instance id that is running, and reuses it once it has finished', async () => {
  const { client } = await startDriver(new ManualClock());
  const id = 'connection-42';
  await client.startNew('waiter', { instanceId: id });
  await until(client, id, (s) => s.runtimeStatus === 'Running');
  await expect(client.startNew('waiter', { instanceId: id })).rejects.toThrow(/status code: 500.*already exists/);
  await client.raiseEvent(id, 'go', 'first');
  expect((await until(client, id)).output).toBe('first');
  await client.startNew('waiter', { instanceId: id });
  await client.raiseEvent(id, 'go', 'second');
  const status = await until(client, id);
  expect(status.output).toBe('second');
  await expect(client.startNew('noSuchOrchestrator')).rejects.toThrow(/status code: 400.*doesn't exist/);
});

it('answers status, queries and purges through DurableClient', async () => {
  const clock = new ManualClock(Date.UTC(2030, 2, 1));
  const { driver, client } = await startDriver(clock);
  const done = await client.startNew('chain', { instanceId: 'q-done', input: ['A'] });
  await until(client, done);
  clock.advance(60_000);
  const waiting = await client.startNew('waiter', { instanceId: 'q-waiting', input: { some: 'input' } });
  await until(client, waiting, (s) => s.runtimeStatus === 'Running');

  expect((await client.getStatus(waiting, { showInput: true })).input).toEqual({ some: 'input' });
  expect(await client.getStatus(done)).toMatchObject({ runtimeStatus: 'Completed', createdTime: new Date('2030-03-01T00:00:00Z') });
  expect((await client.getStatusAll()).map((s) => s.instanceId).sort()).toEqual(['q-done', 'q-waiting']);
  expect((await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Running] })).map((s) => s.instanceId)).toEqual(['q-waiting']);
  expect((await client.getStatusBy({ createdTimeFrom: new Date('2030-03-01T00:00:30Z') })).map((s) => s.instanceId)).toEqual(['q-waiting']);

  // Paging, as the extension pages: `top` and the x-ms-continuation-token header.
  const first = await api(driver, 'instances/?top=1');
  expect(first.body).toHaveLength(1);
  const token = first.headers.get('x-ms-continuation-token');
  expect(token).toBeTruthy();
  const second = await api(driver, 'instances/?top=1', { headers: { 'x-ms-continuation-token': token as string } });
  expect([first.body[0].instanceId, second.body[0].instanceId].sort()).toEqual(['q-done', 'q-waiting']);

  const history = (await api(driver, `instances/${done}?showHistory=true&showHistoryOutput=true&showInput=false`)).body;
  expect(history.input).toBeNull();
  expect(history.historyEvents.map((e: { EventType: string }) => e.EventType)).toEqual(['ExecutionStarted', 'TaskCompleted', 'ExecutionCompleted']);
  expect(history.historyEvents[1]).toMatchObject({ FunctionName: 'hello', Result: 'Hello A' });

  expect(await client.purgeInstanceHistory(done)).toEqual({ instancesDeleted: 1 });
  await expect(client.getStatus(done)).rejects.toThrow(/404/);
  expect(await client.purgeInstanceHistory(done)).toEqual({ instancesDeleted: 0 });
  const purged = await client.purgeInstanceHistoryBy({ createdTimeFrom: new Date('2030-01-01T00:00:00Z'), runtimeStatus: [df.OrchestrationRuntimeStatus.Running] });
  expect(purged).toEqual({ instancesDeleted: 1 });
  expect(await client.getStatusAll()).toEqual([]);
});

it('fails an orchestration whose code throws, or that calls an activity the app lacks', async () => {
  const { client } = await startDriver(new ManualClock());
  const boom = await client.startNew('boom');
  expect(await until(client, boom)).toMatchObject({ runtimeStatus: 'Failed', output: "Orchestrator function 'boom' failed: kaboom" });
  const unknown = await client.startNew('unknownActivity');
  const status = await until(client, unknown);
  expect(status.runtimeStatus).toBe('Failed');
  expect(status.output).toMatch(/^The function 'nope' doesn't exist, is disabled, or is not an activity function\. .*'hello'/);
});

it('runs instances side by side, never two episodes of one instance at once', async () => {
  const { client } = await startDriver(new ManualClock());
  const registration = app.core.registrations.find((r) => r.metadata.name === 'fanOut');
  if (!registration) throw new Error('fanOut is not registered');
  const original = registration.handler;
  const inside = new Set<string>();
  let overlaps = 0;
  let concurrent = 0;
  let mostConcurrent = 0;
  registration.handler = async (payload: unknown, context: unknown) => {
    const id = (payload as { instanceId: string }).instanceId;
    if (inside.has(id)) overlaps++;
    inside.add(id);
    mostConcurrent = Math.max(mostConcurrent, ++concurrent);
    try {
      await settle(2);
      return await original(payload, context);
    } finally {
      inside.delete(id);
      concurrent--;
    }
  };
  try {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => client.startNew('fanOut', { instanceId: `fan-${i}`, input: 10 })));
    const statuses = await Promise.all(ids.map((id) => until(client, id)));
    expect(statuses.map((s) => s.output)).toEqual(ids.map(() => '10:Hello 9'));
  } finally {
    registration.handler = original;
  }
  expect(overlaps).toBe(0);
  expect(mostConcurrent).toBeGreaterThan(1);
});

it('fails an orchestration whose replay schedules something else than its history holds', async () => {
  const { client } = await startDriver(new ManualClock());
  flip = false;
  const id = await client.startNew('fickle');
  expect(await until(client, id)).toMatchObject({ runtimeStatus: 'Failed', output: 'Non-Deterministic workflow detected: TaskScheduledEvent: 0 TaskScheduled hello' });
});

it('throws an activity failure into the orchestrator, with the message Azure gives it', async () => {
  const { client } = await startDriver(new ManualClock());
  const id = await client.startNew('catcher');
  const message = (await until(client, id)).output as string;
  expect(message.startsWith("Activity function 'fails' failed:  no luck \n ")).toBe(true);
  expect(JSON.parse(message.split(' \n ')[1])).toMatchObject({ ClassName: 'System.Exception', Message: ' no luck' });
});

it('resumes after a restart: re-runs a pending activity, re-arms its timer, takes the event', async () => {
  const clock = new ManualClock(Date.UTC(2031, 0, 1));
  const tablePrefix = `durable${++tables}`;
  gate = new Promise(() => undefined);
  gatedRuns = 0;
  const first = await startDriver(clock, tablePrefix);
  const id = await first.client.startNew('gatedThenTimer', { instanceId: 'restart-1' });
  await eventually(
    async () => gatedRuns,
    (n) => n === 1,
  );
  await first.driver.stop();

  // A new host on the same storage: the activity that never finished runs again.
  gate = Promise.resolve();
  const second = await startDriver(clock, tablePrefix);
  await eventually(
    async () => gatedRuns,
    (n) => n === 2,
  );
  await eventually(
    async () => clock.waiting,
    (n) => n === 1,
  );
  await second.driver.stop();
  expect(clock.waiting).toBe(0);

  // Another restart while the timer is pending: it is armed again and fires on the clock.
  const third = await startDriver(clock, tablePrefix);
  await eventually(
    async () => clock.waiting,
    (n) => n === 1,
  );
  clock.advance(60_000);
  await eventually(
    async () => (await api(third.driver, `instances/${id}?showHistory=true`)).body.historyEvents.map((e: { EventType: string }) => e.EventType) as string[],
    (types) => types.includes('TimerFired'),
  );
  await third.client.raiseEvent(id, 'resume', 'after restarts');
  const status = await until(third.client, id);
  expect(status.output).toEqual({ passed: 'gate passed', decision: 'after restarts' });
  expect(gatedRuns).toBe(2);
});

it('serves clients while it takes up the instances that were running, and loads none twice', async () => {
  const clock = new ManualClock(Date.UTC(2031, 0, 1));
  const tablePrefix = `durable${++tables}`;
  const first = await startDriver(clock, tablePrefix);
  const waiting = await first.client.startNew('approval', { instanceId: 'takeup-approval' });
  const touched = await first.client.startNew('sleeper', { instanceId: 'takeup-touched', input: 60_000 });
  const untouched = await first.client.startNew('sleeper', { instanceId: 'takeup-untouched', input: 60_000 });
  await eventually(
    async () => clock.waiting,
    (n) => n === 2,
  );
  await first.driver.stop();
  expect(clock.waiting).toBe(0);

  // A new driver whose listing of the running instances is held back: it starts and serves anyway.
  const driver = new DurableDriver({
    registrations: app.core.registrations,
    storage: { connectionString: azurite.connectionString, tablePrefix },
    clock,
    rpcPort: 0,
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  const store = (driver as unknown as { store: { allInstances: (q: unknown) => AsyncGenerator<{ instanceId: string }> } }).store;
  const listed = store.allInstances.bind(store);
  let release!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  const rows: Array<{ instanceId: string }> = [];
  store.allInstances = async function* (q) {
    for await (const row of listed(q)) rows.push(row); // what was running before any client call
    await gate;
    yield* rows;
  };
  await driver.start();
  drivers.push(driver);
  const client = clientOf(app, driver);
  // Client calls load their instance on demand: one finishes, one re-arms its timer.
  await client.raiseEvent(waiting, 'Approval', 'while taking up');
  expect((await until(client, waiting)).output).toEqual({ first: 'Hello before', decision: 'while taking up' });
  await client.raiseEvent(touched, 'Ignored', null);
  await eventually(
    async () => clock.waiting,
    (n) => n === 1,
  );

  // Then the held-back take-up: only the instance no client touched is loaded (one more timer).
  release();
  await driver.resumed;
  expect(rows.map((r) => r.instanceId).sort()).toEqual([waiting, touched, untouched].sort());
  expect(clock.waiting).toBe(2);
  clock.advance(60_000);
  for (const id of [touched, untouched]) expect((await until(client, id)).runtimeStatus).toBe('Completed');
  expect((await client.getStatus(waiting)).output).toEqual({ first: 'Hello before', decision: 'while taking up' });
});

it('neither loses nor repeats a message when the host dies between storing an episode and clearing its messages', async () => {
  const clock = new ManualClock();
  const tablePrefix = `durable${++tables}`;
  const first = await startDriver(clock, tablePrefix);
  const id = await first.client.startNew('twoEvents', { instanceId: 'crash-1' });
  await until(first.client, id, (s) => s.runtimeStatus === 'Running');
  const store = (first.driver as unknown as { store: { deleteRows: (...args: unknown[]) => Promise<void> } }).store;
  store.deleteRows = () => Promise.reject(new Error('host died'));
  const failures = logs.length;
  await first.client.raiseEvent(id, 'e', 1);
  await eventually(async () => logs.slice(failures).some((l) => l.includes('host died')), Boolean);
  await first.driver.stop();

  const second = await startDriver(clock, tablePrefix);
  await second.client.raiseEvent(id, 'e', 2);
  expect((await until(second.client, id)).output).toEqual([1, 2]);
});

it('keeps rows under the entity limit by splitting large payloads', async () => {
  const { client } = await startDriver(new ManualClock());
  const big = 'x'.repeat(200_000);
  const id = await client.startNew('chain', { input: [big] });
  expect((await until(client, id)).output).toEqual([`Hello ${big}`]);
});

afterAll(() => {
  const errors = logs.filter((l) => l.startsWith('error') && !l.includes('host died') && !l.includes('after its purge'));
  if (errors.length) console.warn(errors.join('\n'));
});
