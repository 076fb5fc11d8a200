import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { LifecycleService } from '../../shared/lifecycle/lifecycleService';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, sleep, startOAuthWorld, type OAuthWorld } from '../support/oauthWorld';

// The connection lifecycle end to end on the local host (with its durable driver), oidc-provider
// issuing 30-second access tokens, and a webhook receiver of the test's own: refresh ahead with
// no caller at all, revocation noticed without a caller, signed notices and reminders, consent again.

/** The subscription's signing secret, as credman issued it. */
let SECRET = '';
let world: OAuthWorld;
let host: TestHost;
let receiver: Server;
const received: Array<{ type: string; body: { type: string; data: { connectionId?: string; status?: string; error?: { code: string } } }; signed: boolean }> = [];
const P = 'life';

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 30 });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let signed = true;
      try {
        new Webhook(SECRET).verify(raw, req.headers as Record<string, string>);
      } catch {
        signed = false;
      }
      received.push({ type: String(req.headers['x-credman-event']), body: JSON.parse(raw.toString('utf8')), signed });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  host = await startHost({ CREDMAN_LIFECYCLE_REMINDER_SECONDS: '3', CREDMAN_IDP_RETRIES: '0' });
  await registerClient(world, [host], 'cm-life');
  expect((await createProvider(host, world, P, 'cm-life')).status).toBe(201);
  const sub = await host.request('PUT', '/webhooks/ops', {
    body: {
      properties: {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        events: ['connection.connected', 'connection.reauthorizationRequired', 'connection.refreshFailed', 'connection.expiringSoon', 'connection.deleted', 'provider.clientSecretInvalid'],
      },
    },
  });
  expect(sub.status).toBe(201);
  SECRET = sub.body.properties.secret;
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
  await new Promise((ok) => receiver?.close(ok));
});

const connection = async () => (await host.request('GET', `/providers/${P}/connections/c`)).body.properties;
async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await sleep(250);
  }
}
const events = (type: string) => received.filter((r) => r.type === type);

it('refreshes ahead with no caller, notices a revoked grant by itself, reminds, and reconnects after consent', async () => {
  await createConnection(host, P, 'c');
  expect((await consent(host, P, 'c')).status).toBe('success');
  const first = await connection();
  expect(first.status).toBe('Connected');
  // What the console shows: consent, the token's age, use, and the lifecycle's next wake (the token falls due).
  expect(first.lastRefreshedOn).toBe(first.consentedOn);
  expect(first.lastUsedOn).toBe(first.consentedOn);
  expect(first.lifecycle).toMatchObject({ action: 'sleep', reason: 'tokenDue' });
  expect(Date.parse(first.lifecycle.wakeOn)).toBeLessThan(Date.parse(first.expiresOn));
  const listed = (await host.request('GET', `/providers/${P}/connections`)).body.value[0].properties;
  expect(listed).toMatchObject({ consentedOn: first.consentedOn, lastRefreshedOn: first.lastRefreshedOn });
  expect(listed.lifecycle).toBeUndefined(); // one connection's GET only: a list reads no sealed state
  await until(
    async () => events('connection.connected').length,
    (n) => n === 1,
    10_000,
  );
  expect(events('connection.connected')[0]).toMatchObject({ signed: true, body: { type: 'connection.connected', data: { connectionId: 'c', status: 'Connected' } } });

  // No token request at all: the lifecycle refreshes a 30 s token ahead of its end.
  await world.idp.resetStats();
  const refreshed = await until(connection, (c) => c.expiresOn !== first.expiresOn, 25_000);
  expect(refreshed.expiresOn > first.expiresOn).toBe(true);
  expect(Date.parse(first.expiresOn)).toBeGreaterThan(Date.now() - 1000); // before the old token ended
  expect((await world.idp.stats()).tokenSuccess.refresh_token).toBe(1);
  expect(Date.parse(refreshed.lastRefreshedOn)).toBeGreaterThan(Date.parse(first.lastRefreshedOn));
  expect(refreshed.consentedOn).toBe(first.consentedOn);

  // The grant is revoked at the provider: the next refresh ahead finds out, with nobody calling.
  await world.idp.revokeAll();
  const broken = await until(connection, (c) => c.status === 'Error', 30_000);
  expect(broken.error.code).toBe('ReauthorizationRequired');
  expect(broken.lifecycle).toEqual({ action: 'awaitConsent' });
  await until(
    async () => events('connection.reauthorizationRequired').length,
    (n) => n >= 2,
    15_000,
  );
  const notices = events('connection.reauthorizationRequired');
  expect(notices.every((n) => n.signed)).toBe(true);
  expect(notices[0].body.data).toMatchObject({ connectionId: 'c', status: 'Error', error: { code: 'ReauthorizationRequired' } });
  expect(notices.length).toBeGreaterThanOrEqual(2); // the notice and at least one reminder

  expect((await consent(host, P, 'c')).status).toBe('success');
  expect((await connection()).status).toBe('Connected');
  await until(
    async () => events('connection.connected').length,
    (n) => n === 2,
    10_000,
  );
  expect(events('connection.connected')[1].signed).toBe(true);

  // Deleted: the lifecycle of this generation of the connection is terminated (housekeeping purges
  // it a week later) and connection.deleted goes out.
  const lifecycle = `/operations/${LifecycleService.instanceId(P, 'c', LifecycleService.generationOf((await connection()).createdOn))}`;
  expect((await host.request('GET', lifecycle)).body.status).toBe('Running');
  expect((await host.request('DELETE', `/providers/${P}/connections/c`)).status).toBe(200);
  await until(
    async () => events('connection.deleted').length,
    (n) => n === 1,
    10_000,
  );
  expect(events('connection.deleted')[0]).toMatchObject({ signed: true, body: { data: { connectionId: 'c' } } });
  expect(
    (
      await until(
        () => host.request('GET', lifecycle),
        (r) => r.body?.status !== 'Running',
        10_000,
      )
    ).body.status,
  ).toBe('Terminated');
}, 120_000);
