import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, sleep, startOAuthWorld, type OAuthWorld } from '../support/oauthWorld';
import { buildRequest, checkResponse, loadDefinition, matchUrl, schemaErrors, type Definition, type Schema } from './definition';

// The trigger "When a connection needs reauthorization" end to end, standing in for Logic Apps:
// subscribe through the definition's trigger operation with a callback URL shaped like a Logic
// Apps one (its SAS signature in the query), let a real reauthorization happen (the grant revoked
// at oidc-provider, the connection's lifecycle finds out at its next refresh), check what the
// callback received against the trigger's schema (and its Standard Webhooks signature), that the
// callback URL is only ever shown redacted, then unsubscribe on the Location.

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: unknown;
  at: number;
}

const P = 'crm';
let world: OAuthWorld;
let host: TestHost;
let def: Definition;
let receiver: Server;
let callbackUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  [world, def] = await Promise.all([startOAuthWorld({ accessTokenTtl: 20 }), loadDefinition()]);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')), at: Date.now() });
      res.writeHead(202).end(); // what a Logic Apps trigger callback answers
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  const port = (receiver.address() as AddressInfo).port;
  callbackUrl = `http://127.0.0.1:${port}/workflows/6c1f/triggers/When_a_connection_needs_reauthorization/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2FWhen_a_connection_needs_reauthorization%2Frun&sv=1.0&sig=Zx9-SAS_signature`;
  host = await startHost({ CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true', CREDMAN_LIFECYCLE_REMINDER_SECONDS: '3', CREDMAN_IDP_RETRIES: '0' });
  await registerClient(world, [host], 'cm-trigger');
  expect((await createProvider(host, world, P, 'cm-trigger')).status).toBe(201);
  expect((await createConnection(host, P, 'sales')).status).toBe(201);
  expect((await consent(host, P, 'sales')).status).toBe('success');
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
  await new Promise((ok) => receiver?.close(ok));
});

async function until<T>(probe: () => T | Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await sleep(200);
  }
}

it('fires on a real reauthorization with a body the trigger schema accepts, and stops once the Location is deleted', async () => {
  const trigger = def.op('WhenConnectionNeedsReauthorization');
  const req = buildRequest(def, trigger, {}, { notificationUrl: callbackUrl });
  const subscribed = await host.request(req.method, `${host.baseUrl}${req.url}`, { body: req.body });
  checkResponse(trigger, subscribed, { notification: true });
  expect(subscribed.status).toBe(201);
  const location = subscribed.headers.get('location') as string;
  expect(matchUrl(def, 'DELETE', location)?.op.operationId).toBe('DeleteTriggerSubscription');
  // The callback URL is a credential (its sig): credman shows it redacted, never as given.
  const shown = (await host.request('GET', location)).body.properties;
  expect(shown).toMatchObject({ url: callbackUrl.replace(/\?.*$/, '?api-version=***&sp=***&sv=***&sig=***'), events: ['connection.reauthorizationRequired'] });
  expect(JSON.stringify((await host.request('GET', '/webhooks')).body)).not.toContain('Zx9-SAS_signature');
  // Logic Apps ignores the signing secret in the answer; deliveries are signed all the same.
  const secret = (subscribed.body as { properties: { secret: string } }).properties.secret;

  // Nothing yet: the connection is fine.
  await sleep(500);
  expect(received).toEqual([]);

  const revokedAt = Date.now();
  await world.idp.revokeAll();
  const first = await until(
    () => received[0],
    (r) => r !== undefined,
    45_000,
  );
  expect(first).toBeDefined();
  console.log(`trigger fired ${first.at - revokedAt} ms after the grant was revoked`);

  // The callback URL is used as given, query (the SAS signature) and all.
  expect(first.method).toBe('POST');
  expect(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}${first.url}`).toBe(callbackUrl);
  expect(first.headers['content-type']).toMatch(/^application\/json/);
  expect(first.headers['x-credman-event']).toBe('connection.reauthorizationRequired');
  expect(first.headers['webhook-id']).toBe((first.body as { id: string }).id);
  expect(new Webhook(secret).verify(first.raw, first.headers as Record<string, string>)).toEqual(first.body);

  const event = trigger.responses['201'].schema as Schema;
  expect(schemaErrors(event, first.body)).toBeUndefined();
  expect(schemaErrors((trigger.raw['x-ms-notification-content'] as { schema: Schema }).schema, first.body)).toBeUndefined();
  expect(first.body).toMatchObject({
    type: 'connection.reauthorizationRequired',
    data: { providerId: P, connectionId: 'sales', status: 'Error', error: { code: 'ReauthorizationRequired' } },
  });
  expect((await host.request('GET', `/providers/${P}/connections/sales`)).body.properties.status).toBe('Error');

  // Reminders follow every 3 s while nobody consents: the trigger fires again.
  await until(
    () => received.length,
    (n) => n >= 2,
    15_000,
  );
  expect(received.length).toBeGreaterThanOrEqual(2);
  for (const r of received) expect(schemaErrors(event, r.body)).toBeUndefined();

  expect(host.output()).not.toContain('Zx9-SAS_signature'); // nor in the logs

  // The trigger is removed: Logic Apps deletes the Location, and deliveries stop.
  const deleted = await host.request('DELETE', location);
  expect(deleted.status).toBe(200);
  expect((await host.request('GET', location)).body.error.code).toBe('WebhookNotFound');
  expect((await host.request('GET', '/webhooks')).body.value).toEqual([]);
  await sleep(1000); // a delivery already under way may still land
  const settled = received.length;
  const notices = () => host.output().split('lifecycle: connection.reauthorizationRequired').length - 1;
  const noticed = notices();
  await sleep(7000); // two more reminder periods
  expect(notices()).toBeGreaterThan(noticed); // the lifecycle still reminds…
  expect(received.length).toBe(settled); // …but nothing reaches the removed trigger
}, 90_000);
