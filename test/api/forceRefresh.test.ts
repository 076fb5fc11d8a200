import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { isErrorShape, startHost, type ApiResponse, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Issue 16 #3: one policy holder looping `?forceRefresh=true` made 250 refresh grants in 3.4 s,
// each rotating the refresh token, spending the connection's budget for everyone and putting the
// OAuth client at risk. Against the real oidc-provider: with the default settings the loop,
// spread over two instances on one storage account, is answered from the token obtained within
// the last 30 s; with the interval off, forced refreshes spend budgets of their own per caller,
// per connection and per OAuth client, then answer 429 with Retry-After, and other holders are
// still served.

const LOOPER = '00000000-0000-4000-8000-0000000100a1';
const OTHER = '00000000-0000-4000-8000-0000000100b2';
const P = 'forced';

let world: OAuthWorld;
let azurite: EmbeddedAzurite;
/** Two instances on one storage account, default forced-refresh settings. */
let pair: TestHost[];
/** Its own storage: interval off, small budgets (2 per caller, 3 per connection, 4 per client). */
let tight: TestHost;

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 600 });
  azurite = await startAzurite();
  const kek = join(mkdtempSync(join(tmpdir(), 'credman-kek-')), 'kek.json');
  const env = { CREDMAN_LOCAL_KEK_FILE: kek, CREDMAN_LOCAL_DURABLE: 'false', CREDMAN_IDP_RETRIES: '0' };
  [pair, tight] = await Promise.all([
    Promise.all([startHost(env, azurite), startHost(env, azurite)]),
    startHost({
      CREDMAN_LOCAL_DURABLE: 'false',
      CREDMAN_IDP_RETRIES: '0',
      CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
      CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: '2',
      CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: '3',
      CREDMAN_FORCE_REFRESH_PER_CLIENT_PER_MINUTE: '4',
    }),
  ]);
  await registerClient(world, [...pair, tight], 'cm-forced');
  expect((await createProvider(pair[0], world, P, 'cm-forced')).status).toBe(201);
  expect((await createProvider(tight, world, P, 'cm-forced')).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.all([...(pair ?? []), tight].map((h) => h?.stop()));
  await azurite?.stop();
  await world?.stop();
});

async function connected(host: TestHost, c: string): Promise<void> {
  expect((await createConnection(host, P, c)).status).toBe(201);
  expect((await consent(host, P, c)).status).toBe('success');
  for (const [id, oid] of [
    ['looper', LOOPER],
    ['other', OTHER],
  ]) {
    const r = await host.request('PUT', `/providers/${P}/connections/${c}/accessPolicies/${id}`, { body: { properties: { tenantId: DEV_TENANT_ID, objectId: oid } } });
    expect(r.status).toBe(201);
  }
}

const expect429 = (r: ApiResponse) => {
  expect(r.status).toBe(429);
  expect(isErrorShape(r.body)).toBe(true);
  expect(r.body.error.code).toBe('TooManyRequests');
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
};

it('a caller looping forceRefresh over two instances gets the recent token, and the identity provider sees (almost) nothing', async () => {
  await connected(pair[0], 'loop');
  const looper = await Promise.all(pair.map((h) => h.token({ oid: LOOPER })));
  const other = await Promise.all(pair.map((h) => h.token({ oid: OTHER })));
  const first = await tokenOf(pair[0], P, 'loop', '', other[0]);
  expect(first.status).toBe(200);
  await world.idp.resetStats();

  // 250 forced requests, ten at a time, alternating instances (a load balancer), while another
  // policy holder keeps asking for the token.
  const statuses: number[] = [];
  const served = new Set<string>();
  const others: Promise<ApiResponse>[] = [];
  for (let i = 0; i < 25; i++) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => tokenOf(pair[j % 2], P, 'loop', '?forceRefresh=true', looper[j % 2])));
    for (const r of batch) {
      statuses.push(r.status);
      if (r.status === 200) served.add(r.body.accessToken as string);
      else expect429(r);
    }
    others.push(tokenOf(pair[i % 2], P, 'loop', '', other[i % 2]));
  }
  // Before the fix: 250 refresh grants. The consent's token is seconds old: it satisfies them all.
  expect((await world.idp.stats()).token.refresh_token).toBeLessThanOrEqual(1);
  expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
  expect(served.size).toBeLessThanOrEqual(2);
  for (const r of await Promise.all(others)) expect(r.status).toBe(200);
  // The other holder's own forced refresh is answered too (the recent token), not refused.
  expect((await tokenOf(pair[1], P, 'loop', '?forceRefresh=true', other[1])).status).toBe(200);
}, 60_000);

it('with the interval off, forced refreshes spend their own budgets per caller, per connection and per OAuth client: then 429, other holders still served', async () => {
  await connected(tight, 'a');
  await connected(tight, 'b');
  const looper = await tight.token({ oid: LOOPER });
  const other = await tight.token({ oid: OTHER });
  await world.idp.resetStats();
  const grants = async () => (await world.idp.stats()).token.refresh_token;

  // The looper: two forced refreshes of 'a' reach the provider (its caller budget), then 429.
  const looped: ApiResponse[] = [];
  for (let i = 0; i < 20; i++) looped.push(await tokenOf(tight, P, 'a', '?forceRefresh=true', looper));
  expect(looped.slice(0, 2).map((r) => r.status)).toEqual([200, 200]);
  for (const r of looped.slice(2)) expect429(r);
  expect(looped[2].body.error.message).toContain('caller');
  expect(await grants()).toBe(2);

  // Another holder is still served, and still gets a forced refresh of its own…
  const plain = await tokenOf(tight, P, 'a', '', other);
  expect(plain.status).toBe(200);
  expect(plain.body.accessToken).toBe(looped[1].body.accessToken);
  expect((await tokenOf(tight, P, 'a', '?forceRefresh=true', other)).status).toBe(200);
  expect(await grants()).toBe(3);
  // …until the connection's forced budget (3) is spent; the token itself is still served.
  const spent = await tokenOf(tight, P, 'a', '?forceRefresh=true', other);
  expect429(spent);
  expect(spent.body.error.message).toContain("Connection 'a'");
  expect((await tokenOf(tight, P, 'a', '', other)).status).toBe(200);

  // The OAuth client's budget (4) spans the provider's connections: one more on 'b', then 429.
  expect((await tokenOf(tight, P, 'b', '?forceRefresh=true', looper)).status).toBe(200);
  const client = await tokenOf(tight, P, 'b', '?forceRefresh=true', other);
  expect429(client);
  expect(client.body.error.message).toContain('OAuth client');
  expect(await grants()).toBe(4);
  expect((await tokenOf(tight, P, 'b', '', other)).status).toBe(200);
}, 60_000);
