import { TableClient } from '@azure/data-tables';
import { HttpRequest, type InvocationContext } from '@azure/functions';
import type { Services } from '../../shared/services';
import { startDurableWorld, type DurableWorld } from '../support/durableWorld';
import { eventually, holdEpisodes, loadApp, onActivity, promptly, settle } from '../local/durable/support';

// DELETE of a connection whose lifecycle has an episode in flight, with the real functions on the
// local durable driver, whose termination is a queued message as in Azure: the request does not
// wait for it, the episode's activities do nothing for the deleted connection (nor for a new
// connection created under the same id meanwhile), connection.deleted goes out, and housekeeping
// leaves no row of the lifecycle behind once it has ended.

const app = loadApp();
let resolveServices!: (s: Services) => void;
const services = new Promise<Services>((ok) => (resolveServices = ok));
jest.doMock('../../functions/lib/runtime', () => ({ getServices: () => services, requireAdmin: () => services }));
/* eslint-disable @typescript-eslint/no-require-imports -- after the shim and the mock are in place */
require('../../functions/lifecycle');
const { deleteConnection, putConnection } = require('../../functions/connections') as typeof import('../../functions/connections');
const { purgeEndedLifecycles } = require('../../functions/housekeeping') as typeof import('../../functions/housekeeping');
const { lifecycleConnected } = require('../../functions/lib/lifecycle') as typeof import('../../functions/lib/lifecycle');
/* eslint-enable @typescript-eslint/no-require-imports */

const ENDED = ['Completed', 'Failed', 'Terminated', 'Canceled'];

let world: DurableWorld;
beforeAll(async () => {
  world = await startDurableWorld(app, resolveServices);
  await world.createProvider('p');
}, 60_000);
afterAll(() => world?.stop());

const connections = () => TableClient.fromConnectionString(world.azurite.connectionString, `${world.tablePrefix}Connections`, { allowInsecureConnection: true });
const request = (method: string, connectionId: string, body?: unknown) =>
  new HttpRequest({
    method,
    url: `http://localhost/api/providers/p/connections/${connectionId}`,
    params: { providerId: 'p', connectionId },
    ...(body === undefined ? {} : { body: { string: JSON.stringify(body) }, headers: { 'content-type': 'application/json' } }),
  });
const noticesFor = (connectionId: string) => world.logs.filter((l) => l.includes(`p/${connectionId}`) && /lifecycle: \S+ p\//.test(l) && !l.includes('not sent'));

/**
 * A connection in use whose refresh ahead is due: its lifecycle is started, evaluates, and the
 * episode that takes the evaluation (and will schedule the refresh) is held in flight.
 */
async function lifecycleWithEpisodeInFlight(connectionId: string): Promise<{ id: string; release: () => void }> {
  await world.createConnection('p', connectionId);
  await world.services.refresher.touch('p', connectionId, Date.now());
  await connections().updateEntity({ partitionKey: 'p', rowKey: connectionId, expiresOn: new Date(world.clock.now() + 30_000).toISOString() }, 'Merge');
  const id = `lifecycle:p:${connectionId}`;
  await lifecycleConnected(world.context('putConnection'), 'p', connectionId);
  const sleeping = await world.fireTimersWithin(id, 0);
  let held: ReturnType<typeof holdEpisodes> | undefined;
  // The next cycle's evaluation: once it runs, the episode that takes its result is held.
  onActivity(app, 'lifecycleEvaluate', 1, () => (held = holdEpisodes(app, 'connectionLifecycle')));
  world.clock.set(sleeping.waitsUntil as number);
  await eventually(async () => held, Boolean);
  await (held as ReturnType<typeof holdEpisodes>).entered;
  return { id, release: (held as ReturnType<typeof holdEpisodes>).release };
}

it('deletes a connection while its lifecycle has an episode in flight: no wait, nothing written for it afterwards, no row left behind', async () => {
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

  const ended = await eventually(() => world.client.getStatus(id), (s) => ENDED.includes(s.runtimeStatus));
  expect(ended.runtimeStatus).toBe('Terminated');
  // The refresh the episode scheduled ran against a deleted connection: no token was fetched, no row came back.
  await eventually(async () => refreshes, (n) => n === 1);
  await settle();
  expect((await world.idp.stats()).token.client_credentials).toBe(0);
  await expect(connections().getEntity('p', 'd1')).rejects.toMatchObject({ statusCode: 404 });
  await eventually(async () => noticesFor('d1').filter((l) => l.includes('connection.deleted')), (n) => n.length === 1);
  expect(noticesFor('d1').filter((l) => !l.includes('connection.connected'))).toEqual([expect.stringContaining('lifecycle: connection.deleted p/d1')]);

  await purgeEndedLifecycles(undefined, world.context('purgeEndedLifecycles'));
  expect(await world.durableRows(id)).toBe(0);
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
  await eventually(async () => (await world.idp.stats()).tokenSuccess.client_credentials, (n) => n === 1);
  release();
  expect((await recreated).status).toBe(201);

  const fresh = await eventually(
    () => world.client.getStatus(id),
    (s) => s.runtimeStatus === 'Running' && world.logs.some((l) => l.includes('lifecycle: connection.connected p/d2')) && noticesFor('d2').length >= 2,
  );
  expect(fresh.runtimeStatus).toBe('Running');
  // The old episode's refresh ran and did not refresh the new connection: one token, from its creation.
  await eventually(async () => refreshes, (n) => n === 1);
  await settle();
  expect((await world.idp.stats()).token.client_credentials).toBe(1);
  expect((await connections().getEntity<{ tokenVersion: number }>('p', 'd2')).tokenVersion).toBe(1);
  const sleeping = await world.fireTimersWithin(id, 0);
  expect(sleeping.status.runtimeStatus).toBe('Running');
  expect(sleeping.waitsUntil).toBeGreaterThan(world.clock.now());
}, 60_000);
