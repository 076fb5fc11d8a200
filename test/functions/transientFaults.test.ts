import { TableClient } from '@azure/data-tables';
import { EventType } from '../../local/durable/history';
import { LifecycleService } from '../../shared/lifecycle/lifecycleService';
import type { Services } from '../../shared/services';
import { startDurableWorld, type DurableWorld } from '../support/durableWorld';
import { eventually, loadApp, onActivity } from '../local/durable/support';
import { SECRET_TABLES } from '../../functions/workflows/keyRotation/names';

// The eternal and long orchestrations (connectionLifecycle, providerCascade, rotateKeys,
// publishNotice) with their real functions and activities on the local durable driver, while a
// real dependency of the activities fails for longer than the retries last: storage answering
// 503, Key Vault answering 429. None ends Failed over that: each waits on a durable timer,
// continues as new from its progress (counting its resumes, naming the fault), and finishes its
// work once the fault clears. A fault that is not transient (an envelope that does not open), or
// one that outlasts the resumes, ends a cascade or a rotation Failed, and a notice after a day.

const app = loadApp();
let resolveServices!: (s: Services) => void;
const services = new Promise<Services>((ok) => (resolveServices = ok));
// The functions build their services from process.env (functions/lib/runtime.ts); here they get
// these, wired to the fake Key Vault and to storage behind the fault proxy.
jest.doMock('../../functions/lib/runtime', () => ({ getServices: () => services, authorize: async () => ({ services: await services }) }));
/* eslint-disable @typescript-eslint/no-require-imports -- after the shim and the mock are in place */
require('../../functions/lifecycle');
require('../../functions/cascade');
require('../../functions/keyRotation');
const { lifecycleConnected } = require('../../functions/workflows/lifecycle/client') as typeof import('../../functions/workflows/lifecycle/client');
const { startOperation } = require('../../functions/workflows/common') as typeof import('../../functions/workflows/common');
const { STALLED_RETRY_MS } = require('../../functions/workflows/lifecycle/orchestrator') as typeof import('../../functions/workflows/lifecycle/orchestrator');
const { DEPENDENCY_RETRY, MAX_RESUMES, NOTICE_MAX_RESUMES, RESUME_AFTER_MS } = require('../../functions/workflows/retryPolicy') as typeof import('../../functions/workflows/retryPolicy');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Longer than any retry interval, shorter than the wait after the retries are spent. */
const RETRY_WINDOW = DEPENDENCY_RETRY.maxRetryIntervalMs;
const ENDED = ['Completed', 'Failed', 'Terminated', 'Canceled'];

let world: DurableWorld;
beforeAll(async () => {
  world = await startDurableWorld(app, resolveServices);
}, 60_000);
afterEach(async () => {
  world.proxy.clear();
  world.vault.failWith = undefined;
  for (const s of await world.client.getStatusBy({ runtimeStatus: [app.df.OrchestrationRuntimeStatus.Running, app.df.OrchestrationRuntimeStatus.Pending] })) {
    await world.client.terminate(s.instanceId, 'test over');
  }
});
afterAll(() => world?.stop());

const status = (id: string) => world.client.getStatus(id);
const connections = () => TableClient.fromConnectionString(world.azurite.connectionString, `${world.tablePrefix}Connections`, { allowInsecureConnection: true });
const tokenVersion = async (p: string, c: string) => (await connections().getEntity<{ tokenVersion?: number }>(p, c)).tokenVersion ?? 0;
const failedAttempts = async (id: string, activity: string) => {
  const history = await world.history(id);
  const names = new Map(history.filter((e) => e.EventType === EventType.TaskScheduled).map((e) => [e.EventId, String(e.Name)]));
  return history.filter((e) => e.EventType === EventType.TaskFailed && names.get(e.TaskScheduledId as number) === activity).length;
};

it('keeps a connection lifecycle Running through a storage outage longer than its retries, and refreshes ahead once storage is back', async () => {
  await world.createProvider('p');
  await world.createConnection('p', 'c');
  await world.services.refresher.touch('p', 'c', Date.now()); // in use
  // Its token ends in 30 s (as a provider's shorter-lived token would): refresh ahead is due in seconds.
  await connections().updateEntity({ partitionKey: 'p', rowKey: 'c', expiresOn: new Date(world.clock.now() + 30_000).toISOString() }, 'Merge');
  const before = await tokenVersion('p', 'c');
  const { resource } = await world.services.connections.get('p', 'c');
  const ref = { providerId: 'p', connectionId: 'c', generation: LifecycleService.generationOf(resource.properties.createdOn) };
  await lifecycleConnected(world.context('putConnection'), ref);
  const id = LifecycleService.instanceId('p', 'c', ref.generation);
  const sleeping = await world.fireTimersWithin(id, 0);
  expect(sleeping.waitsUntil).toBeDefined();

  world.failStorage('Connections');
  await world.idp.resetStats();
  world.clock.set(sleeping.waitsUntil as number); // the refresh is due: a new cycle, whose evaluation fails
  const during = await world.fireTimersWithin(id, RETRY_WINDOW);
  expect(during.status).toMatchObject({ runtimeStatus: 'Running', customStatus: { resumes: 1, lastError: 'DependencyUnavailable' } });
  expect(await failedAttempts(id, 'lifecycleEvaluate')).toBe(DEPENDENCY_RETRY.maxNumberOfAttempts);
  expect((during.waitsUntil as number) - world.clock.now()).toBe(RESUME_AFTER_MS);

  world.proxy.clear();
  world.clock.set(during.waitsUntil as number);
  await eventually(
    () => tokenVersion('p', 'c'),
    (v) => v === before + 1,
  );
  expect((await world.idp.stats()).tokenSuccess.client_credentials).toBe(1);
  // And sleeps until the new token is due.
  const after = await world.fireTimersWithin(id, 0);
  expect(after.status.runtimeStatus).toBe('Running');
  expect(after.waitsUntil).toBeGreaterThan(world.clock.now());
}, 60_000);

it('resumes a provider cascade after a storage outage that outlasts its retries, and leaves nothing behind', async () => {
  await world.createProvider('big');
  for (const c of ['c1', 'c2', 'c3']) await world.createConnection('big', c, 'AuthorizationCode');
  // The outage starts with the second page, after the first deleted every connection.
  onActivity(app, 'cascadeDeletePage', 2, () => world.failStorage('Connections'));
  const id = await startOperation(world.context('deleteProvider'), 'providerCascade', 'cascade:big', { providerId: 'big' });

  const during = await world.fireTimersWithin(id, RETRY_WINDOW);
  expect(during.status).toMatchObject({ runtimeStatus: 'Running', customStatus: { deletedConnections: 3, resumes: 1, lastError: 'DependencyUnavailable' } });
  expect(await failedAttempts(id, 'cascadeDeletePage')).toBe(DEPENDENCY_RETRY.maxNumberOfAttempts);
  expect((during.waitsUntil as number) - world.clock.now()).toBe(RESUME_AFTER_MS);

  world.proxy.clear();
  world.clock.set(during.waitsUntil as number);
  const done = await eventually(
    () => status(id),
    (s) => ENDED.includes(s.runtimeStatus),
  );
  expect(done).toMatchObject({ runtimeStatus: 'Completed', output: { providerId: 'big', deletedConnections: 3 } });
  await expect(world.services.providers.get('big')).rejects.toMatchObject({ status: 404 });
  expect(await world.appRows('Connections', (pk) => pk === 'big')).toBe(0);
  expect(await world.appRows('AccessPolicies', (pk) => pk.startsWith('big:'))).toBe(0);
}, 60_000);

it('resumes key rotation after Key Vault throttles it for longer than its retries, and rewraps every envelope', async () => {
  await world.createProvider('kv1');
  await world.createConnection('kv1', 'c');
  await world.vault.rotate();
  await new Promise((ok) => setTimeout(ok, 1100)); // its data key is no longer cached: rewrapping it needs Key Vault
  // Throttled from the second page on (the connections table): the providers table is done.
  world.vault.retryAfterSeconds = 0;
  onActivity(app, 'rewrapPage', 2, () => (world.vault.failWith = 429));
  const id = await startOperation(world.context('rotateKeysNow'), 'rotateKeys', 'rotateKeys', {});

  const during = await world.fireTimersWithin(id, RETRY_WINDOW);
  expect(during.status).toMatchObject({
    runtimeStatus: 'Running',
    customStatus: { table: 'connections', resumes: 1, lastError: 'DependencyUnavailable', stepsDone: 1, stepsTotal: SECRET_TABLES.length },
  });
  expect(await failedAttempts(id, 'rewrapPage')).toBe(DEPENDENCY_RETRY.maxNumberOfAttempts);
  expect(world.vault.failed).toBeGreaterThan(0);
  expect((during.waitsUntil as number) - world.clock.now()).toBe(RESUME_AFTER_MS);

  world.vault.failWith = undefined;
  world.clock.set(during.waitsUntil as number);
  const done = await eventually(
    () => status(id),
    (s) => ENDED.includes(s.runtimeStatus),
  );
  expect(done.runtimeStatus).toBe('Completed');
  expect((done.output as { rewrapped: number }).rewrapped).toBeGreaterThanOrEqual(2);
  // Nothing is left under the old version. (A second later: an instance's created time is its
  // latest execution's start, and the clock has not moved since the last one.)
  world.clock.advance(1000);
  await startOperation(world.context('rotateKeysNow'), 'rotateKeys', 'rotateKeys', {});
  expect(
    (
      await eventually(
        () => status(id),
        (s) => ENDED.includes(s.runtimeStatus) && s.createdTime > done.createdTime,
      )
    ).output,
  ).toMatchObject({ rewrapped: 0 });
}, 60_000);

it('ends a cascade Failed, naming the fault, once an outage has outlasted its resumes', async () => {
  await world.createProvider('gone');
  await world.createConnection('gone', 'c1', 'AuthorizationCode');
  world.failStorage('Connections');
  // The last resume it has left.
  const id = await startOperation(world.context('deleteProvider'), 'providerCascade', 'cascade:gone', { providerId: 'gone', resumes: MAX_RESUMES });
  const done = await world.fireTimersWithin(id, RETRY_WINDOW);
  expect(done.status).toMatchObject({ runtimeStatus: 'Failed', customStatus: { resumes: MAX_RESUMES, lastError: 'DependencyUnavailable' } });
  expect(String(done.status.output)).toContain(`DependencyUnavailable outlasted ${MAX_RESUMES} resumes`);
}, 60_000);

it('ends key rotation Failed at once on a fault that waiting will not fix (an envelope that does not open), instead of resuming forever', async () => {
  await world.createProvider('kv2');
  await world.createConnection('kv2', 'c');
  await world.vault.rotate();
  // Not an envelope any more: its rewrap fails the same way every time.
  await connections().updateEntity({ partitionKey: 'kv2', rowKey: 'c', secrets: 'not-an-envelope' }, 'Merge');
  try {
    const id = await startOperation(world.context('rotateKeysNow'), 'rotateKeys', 'rotateKeys', {});
    const done = await world.fireTimersWithin(id, RETRY_WINDOW);
    expect(done.status).toMatchObject({ runtimeStatus: 'Failed', customStatus: { table: 'connections', resumes: 0, lastError: 'DecryptionMalformed' } });
    expect(String(done.status.output)).toContain('DecryptionMalformed is not transient');
    expect(await failedAttempts(id, 'rewrapPage')).toBe(DEPENDENCY_RETRY.maxNumberOfAttempts);
  } finally {
    await connections().deleteEntity('kv2', 'c');
  }
}, 60_000);

it('keeps a notice through an outage longer than its retries, whether the connection or the subscriptions cannot be read, and sends it once storage is back', async () => {
  await world.createProvider('n');
  await world.createConnection('n', 'c');
  const { resource } = await world.services.connections.get('n', 'c');
  const generation = LifecycleService.generationOf(resource.properties.createdOn);
  const sent = (type: string) => world.logs.filter((l) => l.includes(`lifecycle: ${type} n/c`) && !l.includes('not sent')).length;

  // The subscriptions cannot be read: nothing could be sent, and notify says so.
  world.failStorage('Webhooks');
  await expect(world.services.lifecycle.notify({ type: 'connection.deleted', providerId: 'n', connectionId: 'c', generation })).rejects.toMatchObject({ code: 'DependencyUnavailable' });
  const client = world.context('deleteConnection');
  const deleted = await app.df.getClient(client).startNew('publishNotice', { input: { type: 'connection.deleted', providerId: 'n', connectionId: 'c', generation } });
  const during = await world.fireTimersWithin(deleted, RETRY_WINDOW);
  expect(during.status).toMatchObject({ runtimeStatus: 'Running', customStatus: { resumes: 1, lastError: 'DependencyUnavailable' } });
  expect(sent('connection.deleted')).toBe(0);

  // The connection cannot be read (its status goes into the notice).
  world.proxy.clear();
  world.failStorage('Connections');
  const connected = await app.df.getClient(client).startNew('publishNotice', { input: { type: 'connection.connected', providerId: 'n', connectionId: 'c', generation } });
  const waiting = await world.fireTimersWithin(connected, RETRY_WINDOW);
  expect(waiting.status).toMatchObject({ runtimeStatus: 'Running', customStatus: { resumes: 1, lastError: 'DependencyUnavailable' } });

  world.proxy.clear();
  world.clock.set(Math.max(during.waitsUntil as number, waiting.waitsUntil as number));
  for (const id of [deleted, connected])
    expect(
      (
        await eventually(
          () => status(id),
          (s) => ENDED.includes(s.runtimeStatus),
        )
      ).runtimeStatus,
    ).toBe('Completed');
  expect([sent('connection.deleted'), sent('connection.connected')]).toEqual([1, 1]);
}, 60_000);

it('gives up on a notice after a day of resumes', async () => {
  world.failStorage('Webhooks');
  const id = await app.df.getClient(world.context('deleteConnection')).startNew('publishNotice', {
    input: { type: 'connection.deleted', providerId: 'n', connectionId: 'x', generation: '0', resumes: NOTICE_MAX_RESUMES },
  });
  const done = await world.fireTimersWithin(id, RETRY_WINDOW);
  expect(done.status).toMatchObject({ runtimeStatus: 'Failed', customStatus: { resumes: NOTICE_MAX_RESUMES, lastError: 'DependencyUnavailable' } });
  expect(NOTICE_MAX_RESUMES * RESUME_AFTER_MS).toBeGreaterThanOrEqual(24 * 3600_000);
}, 60_000);

it('keeps a lifecycle whose connection cannot be decrypted Running: it says connection.refreshFailed and tries again hours later', async () => {
  await world.createProvider('t');
  await world.createConnection('t', 'c');
  const { resource } = await world.services.connections.get('t', 'c');
  const ref = { providerId: 't', connectionId: 'c', generation: LifecycleService.generationOf(resource.properties.createdOn) };
  await connections().updateEntity({ partitionKey: 't', rowKey: 'c', secrets: 'not-an-envelope' }, 'Merge');
  await lifecycleConnected(world.context('putConnection'), ref);
  const id = LifecycleService.instanceId('t', 'c', ref.generation);
  const stalled = await world.fireTimersWithin(id, RETRY_WINDOW);
  // An envelope that is not one is tampering (issue 16 #9), not a bare decryption failure.
  expect(stalled.status).toMatchObject({ runtimeStatus: 'Running', customStatus: { lastError: 'RecordTampered' } });
  expect((stalled.waitsUntil as number) - world.clock.now()).toBe(STALLED_RETRY_MS);
  expect(world.logs.filter((l) => l.includes('lifecycle: connection.refreshFailed t/c'))).toEqual([expect.stringContaining('(RecordTampered)')]);
}, 60_000);
