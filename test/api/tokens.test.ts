import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DEV_APP_OBJECT_ID, DEV_TENANT_ID, DevIssuer } from '../../local/devIssuer';
import { startHost, type TestHost } from '../support/host';
import { createConnection, createProvider, registerClient, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// The token endpoint: who may call it (access policies), client-credentials connections, the
// query options and the per-connection limit on identity-provider calls.

const OTHER_TENANT = '00000000-0000-4000-8000-0000000000f2';
const PERSON = '00000000-0000-4000-8000-00000000b0b1';
const GROUP = '00000000-0000-4000-8000-0000000000e1';
const SPN = '00000000-0000-4000-8000-0000000005e1';
const ALLOWED_APP = '00000000-0000-4000-8000-0000000000a1';
const OTHER_APP = '00000000-0000-4000-8000-0000000000a2';
const WORKLOAD = 'system:serviceaccount:payments:worker';

let world: OAuthWorld;
let host: TestHost;
let workloadIssuer: DevIssuer;
let jwksServer: Server;
let app: string;
const P = 'svc';

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 60 });
  // A second trusted issuer of the tests' own, standing in for a Kubernetes cluster.
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(workloadIssuer.jwks())));
  await new Promise<void>((ok) => jwksServer.listen(0, '127.0.0.1', ok));
  const issuerUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/cluster`;
  workloadIssuer = await DevIssuer.loadOrCreate(mkdtempSync(join(tmpdir(), 'credman-wl-')), issuerUrl);
  host = await startHost({
    CREDMAN_IDP_RETRIES: '0',
    CREDMAN_IDP_TIMEOUT_SECONDS: '2',
    CREDMAN_IDP_CALLS_PER_MINUTE: '5',
    // These tests count each forceRefresh at the provider (test/api/forceRefresh.test.ts covers coalescing and its budgets).
    CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
    CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: '10',
    CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: '10',
    CREDMAN_LOCAL_EXTRA_ISSUERS: JSON.stringify([{ issuer: issuerUrl, jwksUri: `${issuerUrl}/jwks.json`, audiences: ['api://credman'], kind: 'oidc' }]),
  });
  await registerClient(world, [host], 'cm-post', 'client_secret_post');
  expect((await createProvider(host, world, P, 'cm-post', { clientAuthentication: 'body', grants: ['authorizationCode', 'clientCredentials'] })).status).toBe(201);
  app = await host.token({ oid: DEV_APP_OBJECT_ID });
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
  await new Promise((ok) => jwksServer?.close(ok));
});

const policy = (c: string, id: string, properties: object) => host.request('PUT', `/providers/${P}/connections/${c}/accessPolicies/${id}`, { body: { properties } });

describe('client-credentials connections', () => {
  it('fetch their first token on create and serve it from memory after', async () => {
    await world.idp.resetStats();
    const created = await createConnection(host, P, 'daemon', 'ClientCredentials');
    expect(created.status).toBe(201);
    expect(created.body.properties).toMatchObject({ status: 'Connected', expiresOn: expect.any(String) });
    expect((await world.idp.stats()).tokenSuccess.client_credentials).toBe(1);

    const a = await tokenOf(host, P, 'daemon', '', app);
    const b = await tokenOf(host, P, 'daemon', '', app);
    expect(a.status).toBe(200);
    expect(b.body.accessToken).toBe(a.body.accessToken);
    expect((await world.idp.stats()).token.client_credentials).toBe(1);

    const forced = await tokenOf(host, P, 'daemon', '?forceRefresh=true', app);
    expect(forced.body.accessToken).not.toBe(a.body.accessToken);
    expect((await world.idp.stats()).token.client_credentials).toBe(2);
  });

  it('record a refused secret on the connection and recover when it is fixed', async () => {
    const put = (secret: string) =>
      host.request('PUT', `/providers/${P}/connections/badsecret`, {
        body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials', parameters: { clientSecret: secret } } },
      });
    const bad = await put('not-the-secret');
    expect(bad.status).toBe(201);
    expect(bad.body.properties).toMatchObject({ status: 'Error', error: { code: 'ClientSecretInvalid' } });
    expect(JSON.stringify(bad.body)).not.toContain('not-the-secret');
    const refused = await tokenOf(host, P, 'badsecret', '', app);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('ClientSecretInvalid');
    const fixed = await put(world.clientSecret);
    expect(fixed.status).toBe(200);
    expect(fixed.body.properties.status).toBe('Connected');
    expect((await tokenOf(host, P, 'badsecret', '', app)).status).toBe(200);
  });
});

describe('access policies decide who gets tokens', () => {
  beforeAll(async () => {
    await createConnection(host, P, 'shared', 'ClientCredentials');
    await policy('shared', 'person', { tenantId: DEV_TENANT_ID, objectId: PERSON });
    await policy('shared', 'group', { tenantId: DEV_TENANT_ID, objectId: GROUP });
    await policy('shared', 'spn', { tenantId: DEV_TENANT_ID, objectId: SPN, appIds: [ALLOWED_APP] });
  });
  const as = async (opts: Parameters<TestHost['token']>[0]) => (await tokenOf(host, P, 'shared', '', await host.token(opts))).status;

  it('match tenant + object id, a group, and the calling app where listed', async () => {
    expect(await as({ oid: PERSON })).toBe(200);
    expect(await as({ oid: '00000000-0000-4000-8000-00000000dddd', groups: [GROUP] })).toBe(200);
    expect(await as({ oid: SPN, appId: ALLOWED_APP })).toBe(200);
  });

  it('refuse the right object id in the wrong tenant, the wrong app, and anyone unlisted', async () => {
    expect(await as({ oid: PERSON, tid: OTHER_TENANT })).toBe(403);
    expect(await as({ oid: '00000000-0000-4000-8000-00000000dddd', groups: [GROUP], tid: OTHER_TENANT })).toBe(403);
    expect(await as({ oid: SPN, appId: OTHER_APP })).toBe(403);
    expect(await as({ oid: '00000000-0000-4000-8000-00000000eeee' })).toBe(403);
    const r = await tokenOf(host, P, 'shared', '', await host.token({ oid: '00000000-0000-4000-8000-00000000eeee' }));
    expect(r.body.error.code).toBe('Forbidden');
    expect((await tokenOf(host, P, 'shared', '', null as unknown as string)).status).toBe(401);
  });

  it('admit a workload of another trusted issuer by issuer + subject, and only that', async () => {
    const now = Math.floor(Date.now() / 1000);
    const wl = (claims: Record<string, unknown>) => workloadIssuer.signClaims({ iss: workloadIssuer.issuer, aud: 'api://credman', iat: now, exp: now + 600, ...claims });
    await policy('shared', 'worker', { issuer: workloadIssuer.issuer, subject: WORKLOAD });
    expect((await tokenOf(host, P, 'shared', '', await wl({ sub: WORKLOAD }))).status).toBe(200);
    expect((await tokenOf(host, P, 'shared', '', await wl({ sub: 'system:serviceaccount:payments:other' }))).status).toBe(403);
    // Entra claims minted by a non-Entra issuer are not believed.
    expect((await tokenOf(host, P, 'shared', '', await wl({ sub: 'x', tid: DEV_TENANT_ID, oid: PERSON }))).status).toBe(403);
  });

  it('apply a removed policy at once on this instance', async () => {
    expect(await as({ oid: PERSON })).toBe(200);
    expect((await host.request('DELETE', `/providers/${P}/connections/shared/accessPolicies/person`)).status).toBe(200);
    expect(await as({ oid: PERSON })).toBe(403);
  });
});

describe('the token endpoint', () => {
  it('validates its query and answers unknown connections without revealing them', async () => {
    expect((await tokenOf(host, P, 'daemon', '?minValidity=-1', app)).body.error.code).toBe('ValidationError');
    expect((await tokenOf(host, P, 'daemon', '?minValidity=abc', app)).status).toBe(400);
    expect((await tokenOf(host, P, 'daemon', '?forceRefresh=yes', app)).body.error.details[0].target).toBe('forceRefresh');
    // Bodies stream, so the query comes from the URL as sent (not the host's merged one): a repeat is
    // refused, not one value picked, and names are case-sensitive (an unknown name is ignored).
    expect((await tokenOf(host, P, 'daemon', '?minValidity=1&minValidity=2', app)).body.error.details[0].target).toBe('minValidity');
    expect((await tokenOf(host, P, 'daemon', '?MINVALIDITY=abc', app)).status).not.toBe(400);
    expect((await tokenOf(host, P, 'nope', '', app)).status).toBe(403);
    expect((await tokenOf(host, P, 'bad id!', '', app)).body.error.code).toBe('InvalidIdentifier');
  });

  it('stops serving a deleted connection at once, including one deleted with its provider', async () => {
    expect((await createProvider(host, world, 'gone', 'cm-post', { clientAuthentication: 'body', grants: ['clientCredentials'] })).status).toBe(201);
    await createConnection(host, 'gone', 'a', 'ClientCredentials');
    await createConnection(host, 'gone', 'b', 'ClientCredentials');
    expect((await tokenOf(host, 'gone', 'a', '', app)).status).toBe(200);
    expect((await tokenOf(host, 'gone', 'b', '', app)).status).toBe(200);
    expect((await host.request('DELETE', '/providers/gone/connections/a')).status).toBe(200);
    expect((await tokenOf(host, 'gone', 'a', '', app)).status).toBe(403);
    expect((await host.request('DELETE', '/providers/gone')).status).toBe(200);
    expect((await tokenOf(host, 'gone', 'b', '', app)).status).toBe(403);
  });

  it('limits identity-provider calls per connection: a valid token is still served, otherwise 429', async () => {
    await createConnection(host, P, 'limited', 'ClientCredentials'); // call 1
    for (let i = 2; i <= 5; i++) expect((await tokenOf(host, P, 'limited', '?forceRefresh=true', app)).status).toBe(200);
    await world.idp.resetStats();
    const served = await tokenOf(host, P, 'limited', '?forceRefresh=true', app);
    expect(served.status).toBe(200);
    expect((await world.idp.stats()).token.client_credentials).toBe(0);

    // A connection with no valid token: every request would reach the provider, until the limit.
    world.proxy.inject('status500', { times: 100 });
    try {
      expect((await createConnection(host, P, 'starved', 'ClientCredentials')).body.properties.status).toBe('Error');
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await tokenOf(host, P, 'starved', '', app)).status);
      expect(statuses).toEqual([502, 502, 502, 502, 429, 429]);
      const limited = await tokenOf(host, P, 'starved', '', app);
      expect(limited.body.error.code).toBe('TooManyRequests');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      world.proxy.clear();
    }
  });
});
