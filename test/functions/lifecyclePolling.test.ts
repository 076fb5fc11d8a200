import type { Services } from '../../shared/services';
import { connectionRequest, startDurableWorld, type DurableWorld } from '../support/durableWorld';
import { eventually, loadApp, settle } from '../local/durable/support';
import { isActive } from '../../functions/workflows/common';

// Connection lifecycles with the real functions on the local durable driver, when a client's
// messages (a start, an event, a termination) reach their instance only at the next queue poll,
// as they do on an idle app in Azure (the driver's clientMessageDelayMs): a connection deleted and
// created again before the old lifecycle took its termination still gets a lifecycle, and new
// tokens are announced even when the lifecycle is busy and drops the event that would wake it.

const POLL_MS = 30_000;

const app = loadApp();
let resolveServices!: (s: Services) => void;
const services = new Promise<Services>((ok) => (resolveServices = ok));
jest.doMock('../../functions/lib/runtime', () => ({ getServices: () => services, authorize: async () => ({ services: await services }) }));
/* eslint-disable @typescript-eslint/no-require-imports -- after the shim and the mock are in place */
require('../../functions/lifecycle');
const connectionFunctions = require('../../functions/connections') as typeof import('../../functions/connections');
const { httpHandler } = require('../../functions/lib/api') as typeof import('../../functions/lib/api');
/* As the host invokes them: route parameters, body and the error renderer of their route entry. */
const deleteConnection = httpHandler('deleteConnection', connectionFunctions.deleteConnection);
const putConnection = httpHandler('putConnection', connectionFunctions.putConnection);
/* eslint-enable @typescript-eslint/no-require-imports */

let world: DurableWorld;
beforeAll(async () => {
  world = await startDurableWorld(app, resolveServices, { clientMessageDelayMs: POLL_MS });
  await world.createProvider('p');
}, 60_000);
afterAll(() => world?.stop());

const connections = () => world.connectionsTable();
const request = (method: string, connectionId: string, body?: unknown) => connectionRequest(method, 'p', connectionId, body);
const put = (c: string) => putConnection(request('PUT', c, { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } }), world.context('putConnection'));
/** The queues are polled: what the clients sent is taken now. */
const poll = () => world.clock.advance(POLL_MS);
/** The lifecycle instances of a connection, whatever their ids. */
const lifecycles = async (c: string) =>
  (await world.client.getStatusBy({})).filter((s) => s.name === 'connectionLifecycle' && (s.instanceId === `lifecycle:p:${c}` || s.instanceId.startsWith(`lifecycle:p:${c}:`)));
const tokenVersion = async (c: string) => (await connections().getEntity<{ tokenVersion?: number }>('p', c)).tokenVersion ?? 0;
const announced = (c: string) => world.logs.filter((l) => l.includes(`lifecycle: connection.connected p/${c}`)).length;
/** In use, and its token ends in 30 s: a lifecycle that evaluates it refreshes it ahead. */
async function dueForRefresh(c: string): Promise<void> {
  await world.services.refresher.touch('p', c, world.clock.now());
  await connections().updateEntity({ partitionKey: 'p', rowKey: c, expiresOn: new Date(world.clock.now() + 30_000).toISOString() }, 'Merge');
}
function countCalls(name: string): () => number {
  const registration = app.core.registrations.find((r) => r.metadata.name === name);
  if (!registration) throw new Error(`${name} is not registered`);
  const original = registration.handler;
  let calls = 0;
  registration.handler = (input: unknown, context: unknown) => (calls++, original(input, context));
  return () => calls;
}

it('gives a connection deleted and created again its own lifecycle, though the old one takes its termination only at the next poll', async () => {
  const evaluations = countCalls('lifecycleEvaluate');
  expect((await put('c')).status).toBe(201);
  poll();
  const [old] = await eventually(
    () => lifecycles('c'),
    (l) => l.length === 1 && l[0].runtimeStatus === 'Running',
    20_000,
  );
  await eventually(
    async () => evaluations(),
    (n) => n === 1,
    20_000,
  );
  // Woken once by a PUT that keeps the connection (a lifecycle past its first cycle), then asleep again.
  expect((await put('c')).status).toBe(200);
  poll();
  await eventually(
    async () => evaluations(),
    (n) => n === 2,
    20_000,
  );
  expect((await world.fireTimersWithin(old.instanceId, 0)).waitsUntil).toBeGreaterThan(world.clock.now());

  expect((await deleteConnection(request('DELETE', 'c'), world.context('deleteConnection'))).status).toBe(200);
  expect((await put('c')).status).toBe(201);
  const before = await tokenVersion('c');
  await dueForRefresh('c');
  poll();

  expect(
    (
      await eventually(
        () => world.client.getStatus(old.instanceId),
        (s) => !isActive(s.runtimeStatus),
        20_000,
      )
    ).runtimeStatus,
  ).toBe('Terminated');
  // The new connection's lifecycle runs, and refreshes its token ahead.
  await eventually(
    () => tokenVersion('c'),
    (v) => v === before + 1,
    20_000,
  );
  const running = (await lifecycles('c')).filter((s) => isActive(s.runtimeStatus));
  expect(running).toHaveLength(1);
  expect(running[0].instanceId).not.toBe(old.instanceId);
}, 90_000);

it('announces connection.connected for tokens that arrive while the lifecycle is busy in an activity, which drops the event that would wake it', async () => {
  expect((await put('m')).status).toBe(201);
  await dueForRefresh('m');
  // The lifecycle's refresh ahead is held until released.
  const registration = app.core.registrations.find((r) => r.metadata.name === 'lifecycleRefresh');
  if (!registration) throw new Error('lifecycleRefresh is not registered');
  const original = registration.handler;
  let release!: () => void;
  const gate = new Promise<void>((ok) => (release = ok));
  let entered!: () => void;
  const refreshing = new Promise<void>((ok) => (entered = ok));
  registration.handler = async (input: unknown, context: unknown) => {
    registration.handler = original;
    entered();
    await gate;
    return original(input, context);
  };
  poll();
  await refreshing;
  await eventually(
    async () => announced('m'),
    (n) => n === 1,
    20_000,
  );

  // New tokens while the refresh runs (a PUT that fetches them; consent is the same path).
  expect((await put('m')).status).toBe(200);
  poll();
  await settle(200);
  release();
  await eventually(
    async () => announced('m'),
    (n) => n === 2,
    20_000,
  );
  // And the lifecycle carries on.
  const [lifecycle] = await lifecycles('m');
  expect((await world.fireTimersWithin(lifecycle.instanceId, 0)).status.runtimeStatus).toBe('Running');
  await settle(200);
  expect(announced('m')).toBe(2);
}, 90_000);
