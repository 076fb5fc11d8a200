import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import type { Fault } from '../support/faultProxy';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, sleep, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// The identity provider misbehaves (the fault proxy sits in front of its token endpoint): every
// fault gives the documented status (docs/oauth.md), never loses the refresh token, never asks for reauthorization.

let world: OAuthWorld;
let host: TestHost;
let app: string;
const P = 'flaky';
const RETRIES = 1;

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 2 });
  // forceRefresh must reach the (faulty) provider every time: no coalescing with a recent token.
  host = await startHost({ CREDMAN_IDP_TIMEOUT_SECONDS: '1', CREDMAN_IDP_RETRIES: String(RETRIES), CREDMAN_LOCAL_DURABLE: 'false', CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' });
  await registerClient(world, [host], 'cm-flaky');
  await createProvider(host, world, P, 'cm-flaky');
  await createConnection(host, P, 'c');
  expect((await consent(host, P, 'c')).status).toBe('success');
  app = await host.token({ oid: DEV_APP_OBJECT_ID });
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
});

const status = async () => (await host.request('GET', `/providers/${P}/connections/c`)).body.properties;

const FAULTS: Fault[] = ['status500', 'status503', 'status429', 'timeout', 'reset', 'malformedJson', 'htmlError'];

it.each(FAULTS)(
  '%s on every attempt: 502 with no token to serve, then the next request refreshes fine',
  async (fault) => {
    await sleep(2000); // the cached 2 s token has expired: nothing left to serve
    world.proxy.inject(fault, { times: RETRIES + 1, pathPrefix: '/token', retryAfterSeconds: 1 });
    await world.idp.resetStats();
    const failed = await tokenOf(host, P, 'c', '', app);
    expect(failed.status).toBe(502);
    expect(failed.body.error.code).toBe('IdentityProviderError');
    expect(failed.text).not.toMatch(/refresh_token|client_secret|access_token/);
    expect((await world.idp.stats()).token.refresh_token).toBe(0); // nothing reached it
    expect(await status()).toMatchObject({ status: 'Connected' });

    const ok = await tokenOf(host, P, 'c', '', app);
    expect(ok.status).toBe(200);
    expect((await world.idp.stats()).tokenSuccess.refresh_token).toBe(1);
    expect(world.proxy.pendingFaults).toBe(0);
  },
  30_000,
);

it('a single 429 is retried after its Retry-After and the request succeeds', async () => {
  await sleep(2000);
  world.proxy.inject('status429', { times: 1, pathPrefix: '/token', retryAfterSeconds: 1 });
  const started = Date.now();
  const r = await tokenOf(host, P, 'c', '', app);
  expect(r.status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
}, 30_000);

it('a failed refresh keeps serving the cached token while it is still valid', async () => {
  const cached = await tokenOf(host, P, 'c', '?forceRefresh=true', app);
  world.proxy.inject('status503', { times: RETRIES + 1, pathPrefix: '/token' });
  // forceRefresh reaches the provider, which fails: the still-valid token is the answer.
  const r = await tokenOf(host, P, 'c', '?forceRefresh=true&minValidity=0', app);
  expect(r.status).toBe(200);
  expect(r.body.accessToken).toBe(cached.body.accessToken);
  expect(await status()).toMatchObject({ status: 'Connected' });
}, 30_000);

it('an answer lost after the provider rotated the refresh token costs the grant, and says so (the limit of rotation)', async () => {
  // The provider handles the refresh and rotates the token, but the answer never arrives; the
  // retry presents the spent refresh token, and oidc-provider revokes the grant (reuse detection).
  await sleep(2000);
  world.proxy.inject('resetAfterForward', { times: 1, pathPrefix: '/token' });
  await world.idp.resetStats();
  const r = await tokenOf(host, P, 'c', '', app);
  expect(r.status).toBe(409);
  expect(r.body.error.code).toBe('ReauthorizationRequired');
  expect((await world.idp.stats()).token.refresh_token).toBe(2);
  expect((await status()).error.message).toContain('answered unheard');
}, 30_000);
