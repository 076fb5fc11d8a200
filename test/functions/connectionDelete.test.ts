import { InvocationContext } from '@azure/functions';
import { LifecycleService, type ConnectionRef } from '../../shared/lifecycle/lifecycleService';
import type { Services } from '../../shared/services';
import { connectionRequest, startDurableWorld, type DurableWorld } from '../support/durableWorld';
import { FaultProxy } from '../support/faultProxy';
import { eventually, holdEpisodes, loadApp, onActivity, promptly, settle } from '../local/durable/support';

// DELETE of a connection whose lifecycle has an episode in flight, with the real functions on the
// local durable driver, whose termination is a queued message as in Azure: the request does not
// wait for it, the episode's activities do nothing for the deleted connection (nor for a new
// connection created under the same id meanwhile, which gets a lifecycle of its own), and
// connection.deleted goes out, even when the termination could not be sent.

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
const { lifecycleConnected } = require('../../functions/workflows/lifecycle/client') as typeof import('../../functions/workflows/lifecycle/client');
/* eslint-enable @typescript-eslint/no-require-imports */

const ENDED = ['Completed', 'Failed', 'Terminated', 'Canceled'];

let world: DurableWorld;
beforeAll(async () => {
  world = await startDurableWorld(app, resolveServices);
  await world.createProvider('p');
}, 60_000);
afterAll(() => world?.stop());

const connections = () => world.connectionsTable();
const request = (method: string, connectionId: string, body?: unknown) => connectionRequest(method, 'p', connectionId, body);
/** This generation of a connection, as the functions name it to its lifecycle. */
async function refOf(connectionId: string): Promise<ConnectionRef> {
  const { resource } = await world.services.connections.get('p', connectionId);
  return { providerId: 'p', connectionId, generation: LifecycleService.generationOf(resource.properties.createdOn) };
}
const lifecycleOf = (c: ConnectionRef) => LifecycleService.instanceId(c.providerId, c.connectionId, c.generation);
const noticesFor = (connectionId: string) => world.logs.filter((l) => l.includes(`p/${connectionId}`) && /lifecycle: \S+ p\//.test(l) && !l.includes('not sent'));

/**
 * A connection in use whose refresh ahead is due: its lifecycle is started, evaluates, and the
 * episode that takes the evaluation (and will schedule the refresh) is held in flight.
 */
async function lifecycleWithEpisodeInFlight(connectionId: string): Promise<{ id: string; release: () => void }> {
  await world.createConnection('p', connectionId);
  await world.services.refresher.touch('p', connectionId, Date.now());
  await connections().updateEntity({ partitionKey: 'p', rowKey: connectionId, expiresOn: new Date(world.clock.now() + 30_000).toISOString() }, 'Merge');
  const ref = await refOf(connectionId);
  const id = lifecycleOf(ref);
  await lifecycleConnected(world.context('putConnection'), ref);
  const sleeping = await world.fireTimersWithin(id, 0);
  let held: ReturnType<typeof holdEpisodes> | undefined;
  // The next cycle's evaluation: once it runs, the episode that takes its result is held.
  onActivity(app, 'lifecycleEvaluate', 1, () => (held = holdEpisodes(app, 'connectionLifecycle')));
  world.clock.set(sleeping.waitsUntil as number);
  await eventually(async () => held, Boolean);
  await (held as ReturnType<typeof holdEpisodes>).entered;
  return { id, release: (held as ReturnType<typeof holdEpisodes>).release };
}

it('deletes a connection while its lifecycle has an episode in flight: no wait, nothing written for it afterwards', async () => {
  const { id, release } = await lifecycleWithEpisodeInFlight('d1');
  await world.idp.resetStats();
  let refreshes = 0;
  onActivity(app, 'lifecycleRefresh', 1, () => refreshes++);
  const context: InvocationContext = world.context('deleteConnection');
  const deleted = await promptly(deleteConnection(request('DELETE', 'd1'), context), 'DELETE');
  expect(deleted.status).toBe(200);
  // The termination is queued behind the episode in flight.
  expect((await world.client.getStatus(id)).runtimeStatus).toBe('Running');
  release();

  const ended = await eventually(
    () => world.client.getStatus(id),
    (s) => ENDED.includes(s.runtimeStatus),
  );
  expect(ended.runtimeStatus).toBe('Terminated');
  // The refresh the episode scheduled ran against a deleted connection: no token was fetched, no row came back.
  await eventually(
    async () => refreshes,
    (n) => n === 1,
  );
  await settle();
  expect((await world.idp.stats()).token.client_credentials).toBe(0);
  await expect(connections().getEntity('p', 'd1')).rejects.toMatchObject({ statusCode: 404 });
  await eventually(
    async () => noticesFor('d1').filter((l) => l.includes('connection.deleted')),
    (n) => n.length === 1,
  );
  expect(noticesFor('d1').filter((l) => !l.includes('connection.connected'))).toEqual([expect.stringContaining('lifecycle: connection.deleted p/d1')]);
  expect(await world.appRows('AccessPolicies', (pk) => pk === 'p:d1')).toBe(0);
}, 60_000);

it('deletes and creates a connection again while the old lifecycle has an episode in flight: the old episode leaves the new connection alone, which gets its own lifecycle', async () => {
  const { id, release } = await lifecycleWithEpisodeInFlight('d2');
  await world.idp.resetStats();
  let refreshes = 0;
  onActivity(app, 'lifecycleRefresh', 1, () => refreshes++);
  expect((await promptly(deleteConnection(request('DELETE', 'd2'), world.context('deleteConnection')), 'DELETE')).status).toBe(200);
  // Created again at once: its first token comes now, and its lifecycle is asked for while the
  // old one still runs (its termination queued behind the episode in flight).
  const recreated = putConnection(request('PUT', 'd2', { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } }), world.context('putConnection'));
  await eventually(
    async () => (await world.idp.stats()).tokenSuccess.client_credentials,
    (n) => n === 1,
  );
  release();
  expect((await recreated).status).toBe(201);

  expect(
    (
      await eventually(
        () => world.client.getStatus(id),
        (s) => ENDED.includes(s.runtimeStatus),
      )
    ).runtimeStatus,
  ).toBe('Terminated');
  const fresh = lifecycleOf(await refOf('d2'));
  expect(fresh).not.toBe(id);
  await eventually(
    () => world.client.getStatus(fresh),
    (s) => s.runtimeStatus === 'Running' && world.logs.some((l) => l.includes('lifecycle: connection.connected p/d2')),
  );
  // The old episode's refresh ran and did not refresh the new connection: one token, from its creation.
  await eventually(
    async () => refreshes,
    (n) => n === 1,
  );
  await settle();
  expect((await world.idp.stats()).token.client_credentials).toBe(1);
  expect((await connections().getEntity<{ tokenVersion: number }>('p', 'd2')).tokenVersion).toBe(1);
  const sleeping = await world.fireTimersWithin(fresh, 0);
  expect(sleeping.status.runtimeStatus).toBe('Running');
  expect(sleeping.waitsUntil).toBeGreaterThan(world.clock.now());
}, 60_000);

it("announces connection.deleted even when its lifecycle's termination cannot be sent", async () => {
  expect((await putConnection(request('PUT', 'd3', { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } }), world.context('putConnection'))).status).toBe(201);
  const lifecycle = async () => (await world.client.getStatusBy({})).find((s) => s.instanceId.startsWith('lifecycle:p:d3'));
  await eventually(lifecycle, (s) => s?.runtimeStatus === 'Running');
  // The durable client API answers the termination with a 500; everything else goes through.
  const rpc = await FaultProxy.start(new URL(world.driver.rpcBaseUrl).origin);
  try {
    rpc.inject('status500', { method: 'POST', pathPrefix: '/durabletask/instances/lifecycle:p:d3', body: { Message: 'injected fault' } });
    const input = app.df.input.durableClient();
    const context = new InvocationContext({ functionName: 'deleteConnection', options: { trigger: { type: 'httpTrigger', name: 'req' }, extraInputs: [input] } });
    context.extraInputs.set(input, { ...world.driver.clientData(), rpcBaseUrl: `${rpc.url}/durabletask/` });
    expect((await deleteConnection(request('DELETE', 'd3'), context)).status).toBe(200);
    expect(rpc.pendingFaults).toBe(0);
  } finally {
    await rpc.close();
  }
  await eventually(
    async () => noticesFor('d3').filter((l) => l.includes('connection.deleted')),
    (n) => n.length === 1,
  );
  // The lifecycle still runs (no termination reached it); it stops by itself at its next cycle, finding the connection gone.
  expect((await lifecycle())?.runtimeStatus).toBe('Running');
}, 60_000);
