import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, sleep, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Issue 16 #2: an instance's token cache against a connection changed through another instance.
// Two local hosts on one storage account (one key file, as instances of one app share a Key Vault
// key) and the real oidc-provider. Instance A serves (and caches) the first person's token; the
// connection is then deleted and created again, or consented by another account, through
// instance B. Once A's policy cache turns over (2 s here), A must serve the new grant's token —
// before the fix, it kept serving the first person's token from memory until it went stale.

const POLICY_CACHE_SECONDS = 2;
const OTHER_TENANT = '00000000-0000-4000-8000-0000000000f2';
const FIRST = '00000000-0000-4000-8000-00000000f125';
const SECOND = '00000000-0000-4000-8000-00000000c0de';
const P = 'gen';

let world: OAuthWorld;
let azurite: EmbeddedAzurite;
let a: TestHost;
let b: TestHost;

beforeAll(async () => {
  // Tokens live 10 minutes: the first person's token stays fresh in A's cache for the whole test.
  world = await startOAuthWorld({ accessTokenTtl: 600 });
  azurite = await startAzurite();
  const kek = join(mkdtempSync(join(tmpdir(), 'credman-kek-')), 'kek.json');
  const env = { CREDMAN_LOCAL_KEK_FILE: kek, CREDMAN_POLICY_CACHE_SECONDS: String(POLICY_CACHE_SECONDS), CREDMAN_IDP_RETRIES: '0' };
  // One durable host per storage account: B runs the lifecycles, A serves tokens only.
  [a, b] = await Promise.all([startHost({ ...env, CREDMAN_LOCAL_DURABLE: 'false' }, azurite), startHost(env, azurite)]);
  await registerClient(world, [a, b], 'cm-gen');
  expect((await createProvider(b, world, P, 'cm-gen')).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await azurite?.stop();
  await world?.stop();
});

const policy = (host: TestHost, c: string, id: string, properties: object) => host.request('PUT', `/providers/${P}/connections/${c}/accessPolicies/${id}`, { body: { properties } });

async function consented(host: TestHost, c: string, login: string): Promise<void> {
  const done = await consent(host, P, c, { login });
  expect(done.status).toBe('success');
}

/** The token `host` serves to the holder `oid` in `tid`. */
async function served(host: TestHost, c: string, oid: string, tid = DEV_TENANT_ID): Promise<{ status: number; token?: string }> {
  const r = await tokenOf(host, P, c, '', await host.token({ oid, tid }));
  return { status: r.status, ...(r.status === 200 ? { token: r.body.accessToken as string } : {}) };
}

it('a connection deleted and created again through another instance, for another account and tenant, is not served the previous token', async () => {
  expect((await createConnection(b, P, 'shared')).status).toBe(201);
  await consented(b, 'shared', 'alice');
  expect((await policy(b, 'shared', 'first', { tenantId: DEV_TENANT_ID, objectId: FIRST })).status).toBe(201);
  const alice = await served(a, 'shared', FIRST);
  expect(alice.status).toBe(200);
  expect((await served(a, 'shared', FIRST)).token).toBe(alice.token); // from A's memory

  // Through B: deleted, created again under the same id for someone else in another tenant.
  expect((await b.request('DELETE', `/providers/${P}/connections/shared`)).status).toBe(200);
  expect((await createConnection(b, P, 'shared')).status).toBe(201);
  expect((await policy(b, 'shared', 'second', { tenantId: OTHER_TENANT, objectId: SECOND })).status).toBe(201);
  await consented(b, 'shared', 'bob');
  const bob = await served(b, 'shared', SECOND, OTHER_TENANT);
  expect(bob.status).toBe(200);
  expect(bob.token).not.toBe(alice.token);

  await sleep(POLICY_CACHE_SECONDS * 1000 + 500);
  const second = await served(a, 'shared', SECOND, OTHER_TENANT);
  expect(second.status).toBe(200);
  expect(second.token).not.toBe(alice.token);
  expect(second.token).toBe(bob.token);
  expect((await served(a, 'shared', FIRST)).status).toBe(403);
}, 60_000);

it('a connection consented again through another instance with another account is not served the previous token', async () => {
  expect((await createConnection(b, P, 'again')).status).toBe(201);
  await consented(b, 'again', 'alice');
  expect((await policy(b, 'again', 'holder', { tenantId: DEV_TENANT_ID, objectId: FIRST })).status).toBe(201);
  const alice = await served(a, 'again', FIRST);
  expect(alice.status).toBe(200);

  await consented(b, 'again', 'bob');
  const bob = await served(b, 'again', FIRST);
  expect(bob.token).not.toBe(alice.token);

  await sleep(POLICY_CACHE_SECONDS * 1000 + 500);
  expect((await served(a, 'again', FIRST)).token).toBe(bob.token);
}, 60_000);

it('checks the generation with the policies, not per request: warm requests read no table', async () => {
  const stats = async () => (await (await fetch(`${a.baseUrl}/admin/stats`)).json()) as Record<string, number>;
  expect((await served(a, 'again', FIRST)).status).toBe(200);
  const before = await stats();
  for (let i = 0; i < 50; i++) expect((await served(a, 'again', FIRST)).status).toBe(200);
  const after = await stats();
  // At most one policy load (two generation reads) if the 2 s cache turned over during the loop.
  expect(after.grantGenerationReads - before.grantGenerationReads).toBeLessThanOrEqual(2);
  expect(after.tokenStoreReads - before.tokenStoreReads).toBe(0);
}, 60_000);

it('a policy copy restored into the connection created again under its id grants nothing, even on an instance that never saw the delete', async () => {
  // The attack the row MAC alone misses: a MAC'd policy row saved by someone who can write the
  // table, put back after the connection was deleted and created again through another instance.
  const policies = a.table('credmanAccessPolicies');
  expect((await createConnection(b, P, 'reborn')).status).toBe(201);
  await consented(b, 'reborn', 'alice');
  expect((await policy(b, 'reborn', 'old', { tenantId: DEV_TENANT_ID, objectId: FIRST })).status).toBe(201);
  expect((await served(a, 'reborn', FIRST)).status).toBe(200); // A has read (and verified) the policy
  const { etag: _etag, timestamp: _timestamp, ...saved } = await policies.getEntity<Record<string, unknown>>(`${P}:reborn`, 'old');

  expect((await b.request('DELETE', `/providers/${P}/connections/reborn`)).status).toBe(200);
  expect((await createConnection(b, P, 'reborn')).status).toBe(201);
  expect((await policy(b, 'reborn', 'second', { tenantId: OTHER_TENANT, objectId: SECOND })).status).toBe(201);
  await consented(b, 'reborn', 'bob');
  await policies.upsertEntity({ ...saved, partitionKey: `${P}:reborn`, rowKey: 'old' }, 'Replace');

  await sleep(POLICY_CACHE_SECONDS * 1000 + 500);
  expect((await served(a, 'reborn', FIRST)).status).toBe(403);
  expect((await served(b, 'reborn', FIRST)).status).toBe(403);
  expect((await served(a, 'reborn', SECOND, OTHER_TENANT)).status).toBe(200);
  expect(a.output()).toMatch(/tamper: the access policy row credmanAccessPolicies\/gen:reborn\/old failed its integrity check \(Rollback\)/);
  // Nor does the management API show it as the new connection's.
  const listed = await b.request('GET', `/providers/${P}/connections/reborn/accessPolicies`);
  expect(listed.body.value.map((p: { name: string }) => p.name)).not.toContain('old');
});
