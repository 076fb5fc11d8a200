import { odata, TableClient } from '@azure/data-tables';
import type * as DF from 'durable-functions';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { ManualClock } from '../../local/durable/clock';
import { DurableDriver } from '../../local/durable/driver';
import { DependencyUnavailableError, IdentityProviderError } from '../../shared/errors';
import type { Evaluation, RefreshOutcome } from '../../shared/lifecycle/lifecycleService';
import { clientOf, eventually, loadApp } from '../local/durable/support';

// Replay tests of connectionLifecycle: the real orchestrator on the local durable driver (which
// replays it against its history every episode, as the extension does), with scripted
// activities (their failures marked by the app's own `markFaults` wrapper), so each branch is driven
// and checked: sleep, refresh ahead, transient and permanent failures, reauthorization and
// consent, reminders, warnings, deletion while waiting, continue-as-new.

const app = loadApp();
const { df } = app;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the shim is in place
const { connectionLifecycle, STALLED_RETRY_MS } = require('../../functions/workflows/lifecycle/orchestrator') as typeof import('../../functions/workflows/lifecycle/orchestrator');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the shim is in place
const { CONSENT_COMPLETED } = require('../../functions/workflows/lifecycle/names') as typeof import('../../functions/workflows/lifecycle/names');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { markFaults, MAX_RESUMES, RESUME_AFTER_MS } = require('../../functions/workflows/retryPolicy') as typeof import('../../functions/workflows/retryPolicy');

const H = 3600_000;
let evaluations: Array<(now: number) => Evaluation> = [];
let refreshes: Array<() => RefreshOutcome> = [];
const notices: Array<{ type: string; detail?: string }> = [];
const evaluatedAt: number[] = [];

df.app.orchestration('connectionLifecycle', connectionLifecycle);
df.app.activity('lifecycleEvaluate', {
  handler: markFaults(async (input: { now: string }) => {
    const now = Date.parse(input.now);
    evaluatedAt.push(now);
    const next = evaluations.shift();
    return next ? next(now) : { plan: { kind: 'stop' }, warnings: [], tokenVersion: 0, reminderMs: 24 * H };
  }),
});
df.app.activity('lifecycleRefresh', {
  handler: markFaults(async () => {
    const next = refreshes.shift();
    if (!next) throw new Error('no scripted refresh');
    return next();
  }),
});
df.app.activity('lifecycleNotify', { handler: markFaults(async (n: { type: string; detail?: string }) => void notices.push({ type: n.type, ...(n.detail ? { detail: n.detail } : {}) })) });

let azurite: EmbeddedAzurite;
let driver: DurableDriver;
let client: DF.DurableClient;
let clock: ManualClock;
let n = 0;

beforeAll(async () => {
  azurite = await startAzurite();
}, 20_000);
beforeEach(async () => {
  evaluations = [];
  refreshes = [];
  notices.length = 0;
  evaluatedAt.length = 0;
  clock = new ManualClock(new Date(Date.UTC(2026, 10, 23, 12)));
  driver = new DurableDriver({ registrations: app.core.registrations, storage: { connectionString: azurite.connectionString, tablePrefix: `lc${++n}` }, clock, rpcPort: 0, log: () => undefined });
  await driver.start();
  client = clientOf(app, driver);
});
afterEach(() => driver.stop());
afterAll(() => azurite?.stop());

const sleep = (until: number): Evaluation => ({ plan: { kind: 'sleep', until, reason: 'tokenDue' }, warnings: [], tokenVersion: 1, reminderMs: 24 * H });
const refresh: Evaluation = { plan: { kind: 'refresh', reason: 'ahead' }, warnings: [], tokenVersion: 1, reminderMs: 24 * H };
const awaitConsent: Evaluation = { plan: { kind: 'awaitConsent' }, warnings: [], tokenVersion: 1, reminderMs: 24 * H };
const ID = 'lifecycle:p:c:g1';
const start = (extra: object = {}) => client.startNew('connectionLifecycle', { instanceId: ID, input: { providerId: 'p', connectionId: 'c', generation: 'g1', ...extra } });
const status = () => client.getStatus(ID);
const done = (s: DF.DurableOrchestrationStatus) => ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus);
/** Moves the clock to each armed timer until the instance ends. */
const runToEnd = () =>
  eventually(
    async () => {
      if (clock.waiting) clock.advance(H);
      return status();
    },
    done,
    10_000,
  );
/** Moves the clock to each timer exactly as it comes due, one at a time, until `until` holds. */
const step = (until: () => boolean) =>
  eventually(
    async () => {
      if (!until() && clock.nextAt !== undefined) clock.set(clock.nextAt);
      return until();
    },
    Boolean,
    10_000,
  );
const transient = () => {
  throw new DependencyUnavailableError('Storage');
};

it("wakes on ConsentCompleted and evaluates again, announcing nothing itself (connection.connected is the caller's)", async () => {
  evaluations = [(now) => sleep(now + 24 * H)];
  await start();
  await eventually(
    async () => clock.waiting,
    (w) => w > 0,
  );
  await client.raiseEvent(ID, CONSENT_COMPLETED, {});
  const s = await eventually(status, done);
  expect(s).toMatchObject({ runtimeStatus: 'Completed', output: 'stopped' });
  expect(evaluatedAt).toHaveLength(2);
  expect(notices).toEqual([]);
});

it('sleeps on a durable timer, then continues as new and evaluates again', async () => {
  evaluations = [(now) => sleep(now + 2 * H)];
  await start();
  await eventually(
    async () => clock.waiting,
    (w) => w > 0,
  );
  expect(evaluatedAt).toHaveLength(1);
  clock.advance(2 * H);
  const s = await runToEnd();
  expect(s).toMatchObject({ runtimeStatus: 'Completed', output: 'stopped' });
  expect(evaluatedAt[1] - evaluatedAt[0]).toBe(2 * H);
});

it('refreshes ahead when due, with no notice', async () => {
  evaluations = [() => refresh];
  refreshes = [() => 'refreshed'];
  expect((await (await start(), runToEnd())).output).toBe('stopped');
  expect(notices).toEqual([]);
  expect(evaluatedAt).toHaveLength(2);
});

it('retries a transient refresh failure with its RetryOptions, then succeeds', async () => {
  evaluations = [() => refresh];
  refreshes = [
    () => {
      throw new IdentityProviderError('The identity provider answered 502.');
    },
    () => 'refreshed',
  ];
  await start();
  const s = await runToEnd();
  expect(s.output).toBe('stopped');
  expect(refreshes).toHaveLength(0);
  expect(notices).toEqual([]);
});

it('after the retries, says refreshFailed and tries again five minutes after the failure (not after the cycle began)', async () => {
  evaluations = [() => refresh];
  refreshes = Array.from({ length: 4 }, () => () => {
    throw new IdentityProviderError('The identity provider answered 502.');
  });
  await start();
  await step(() => evaluatedAt.length === 2);
  expect(notices).toEqual([{ type: 'connection.refreshFailed' }]);
  // REFRESH_RETRY: attempts at 0, 5, 15 and 35 s, then the wait.
  expect(evaluatedAt[1] - evaluatedAt[0]).toBe(35_000 + RESUME_AFTER_MS);
  expect((await runToEnd()).output).toBe('stopped');
});

it('on a refresh failure that retrying will not fix, says so and tries again hours later', async () => {
  evaluations = [() => refresh];
  refreshes = Array.from({ length: 4 }, () => () => {
    throw new TypeError('a bug');
  });
  await start();
  await step(() => evaluatedAt.length === 2);
  expect(notices).toEqual([{ type: 'connection.refreshFailed', detail: expect.stringContaining('(TypeError)') }]);
  expect(evaluatedAt[1] - evaluatedAt[0]).toBe(35_000 + STALLED_RETRY_MS);
});

it('resumes a cycle whose activity keeps failing transiently, counting the resumes in its input and custom status', async () => {
  evaluations = [...Array.from({ length: 5 }, () => transient), (now) => sleep(now + H)];
  await start();
  await step(() => evaluatedAt.length === 6);
  const s = await status();
  expect(s).toMatchObject({ runtimeStatus: 'Running', input: { resumes: 1, lastError: 'DependencyUnavailable' }, customStatus: { resumes: 1, lastError: 'DependencyUnavailable' } });
  // DEPENDENCY_RETRY: attempts at 0, 5, 15, 35 and 75 s, then the wait.
  expect(evaluatedAt[5] - evaluatedAt[0]).toBe(75_000 + RESUME_AFTER_MS);
  expect(notices).toEqual([]);
  // The next cycle goes through: the count starts over.
  expect(await runToEnd()).toMatchObject({ runtimeStatus: 'Completed', output: 'stopped', customStatus: { resumes: 0 } });
});

it('never ends over a fault: a permanent one, or a transient one past its resumes, is published as refreshFailed and tried again hours later', async () => {
  evaluations = [
    ...Array.from({ length: 5 }, () => () => {
      throw new TypeError('a bug');
    }),
    (now: number) => sleep(now + H),
  ];
  await start();
  await step(() => evaluatedAt.length === 6);
  expect(notices).toEqual([{ type: 'connection.refreshFailed', detail: expect.stringContaining('(TypeError)') }]);
  expect(evaluatedAt[5] - evaluatedAt[0]).toBe(75_000 + STALLED_RETRY_MS);
  expect(await status()).toMatchObject({ runtimeStatus: 'Running', input: { resumes: 0, lastError: 'TypeError' }, customStatus: { lastError: 'TypeError' } });
  await runToEnd();

  // A transient fault that outlasted its resumes: the same.
  await client.purgeInstanceHistory(ID);
  notices.length = 0;
  evaluatedAt.length = 0;
  evaluations = Array.from({ length: 5 }, () => transient);
  await start({ resumes: MAX_RESUMES, lastError: 'DependencyUnavailable' });
  await step(() => evaluatedAt.length === 6);
  expect(notices).toEqual([{ type: 'connection.refreshFailed', detail: expect.stringContaining('(DependencyUnavailable)') }]);
  expect(evaluatedAt[5] - evaluatedAt[0]).toBe(75_000 + STALLED_RETRY_MS);
});

it('on ReauthorizationRequired: notices, waits for consent, reminds daily, wakes on ConsentCompleted and looks again', async () => {
  evaluations = [() => refresh, () => awaitConsent, () => awaitConsent];
  refreshes = [() => 'ReauthorizationRequired'];
  await start();
  await eventually(
    async () => notices.length,
    (x) => x === 1,
  );
  expect(notices[0].type).toBe('connection.reauthorizationRequired');
  await eventually(
    async () => clock.waiting,
    (w) => w > 0,
  );
  clock.advance(24 * H); // the reminder
  await eventually(
    async () => notices.length,
    (x) => x === 2,
  );
  expect(notices[1]).toEqual({ type: 'connection.reauthorizationRequired', detail: 'reminder' });
  await eventually(
    async () => evaluatedAt.length,
    (x) => x === 3,
  );
  await client.raiseEvent(ID, CONSENT_COMPLETED, {});
  const s = await eventually(status, done);
  expect(s.output).toBe('stopped');
  expect(evaluatedAt).toHaveLength(4);
  expect(notices.map((x) => x.type)).toEqual(['connection.reauthorizationRequired', 'connection.reauthorizationRequired']);
});

it('sends each expiry warning once across cycles', async () => {
  const warn = (now: number): Evaluation => ({
    plan: { kind: 'sleep', until: now + H, reason: 'warning' },
    warnings: [{ kind: 'clientSecretExpiring', endsAt: Date.UTC(2026, 11, 1) }],
    tokenVersion: 1,
    reminderMs: 24 * H,
  });
  evaluations = [warn, warn];
  await start();
  await runToEnd();
  expect(notices).toEqual([{ type: 'connection.expiringSoon', detail: 'The client secret ends on 2026-12-01T00:00:00.000Z.' }]);
});

it('is terminated while it waits (connection deleted)', async () => {
  evaluations = [() => awaitConsent];
  await start();
  await eventually(
    async () => clock.waiting,
    (w) => w > 0,
  );
  await client.terminate(ID, 'connection deleted');
  expect((await eventually(status, done)).runtimeStatus).toBe('Terminated');
});

it('keeps its history one cycle long (continue-as-new)', async () => {
  const historyRows = async () => {
    const table = TableClient.fromConnectionString(azurite.connectionString, `lc${n}DurableHistory`, { allowInsecureConnection: true });
    let rows = 0;
    for await (const _ of table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${ID}` } })) rows++;
    return rows;
  };
  evaluations = [(now) => sleep(now + H)];
  await start();
  await runToEnd();
  const oneCycle = await historyRows();
  await client.purgeInstanceHistory(ID);
  evaluations = Array.from({ length: 6 }, () => (now: number) => sleep(now + H));
  await start();
  await runToEnd();
  expect(evaluatedAt).toHaveLength(2 + 7);
  expect(await historyRows()).toBe(oneCycle);
});
