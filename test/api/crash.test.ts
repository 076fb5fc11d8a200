import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { odata, TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { isActive } from '../../functions/workflows/common';
import { DekCache } from '../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../shared/crypto/envelope';
import { RecordIntegrity } from '../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../shared/crypto/localKeyWrapper';
import { ConnectionSealer } from '../../shared/store/connectionSeal';
import { ProviderStore } from '../../shared/store/providers';
import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import { startHost, type TestHost } from '../support/host';
import { startIdp, type Idp } from '../support/idp';

// Crash safety of the background operations on the local host: the host process is SIGKILLed in
// the middle of a provider's cascade delete and in the middle of key rotation, and a new host on
// the same storage (Azurite owned here) and the same local KEK file takes over and finishes each.
// Between the two host runs of the rotation the KEK file gets a new current version, so the host
// that rotates has rows sealed under an older one to move.

const PREFIX = 'credman';
const CASCADE = 'crash';
const KEYS = 'keys';

let azurite: EmbeddedAzurite;
let idp: Idp;
let work: string;
let kekFile: string;
let host: TestHost | undefined;
/** Set by the tests below for the known problems at the end of the file. */
let cascadeCut: { deletedBeforeKill: string[]; lifecyclesLeft: string[] } | undefined;
let webhookAfterRotation: { kid: string; expected: string } | undefined;
let webhookSecret = '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const table = (name: string) => TableClient.fromConnectionString(azurite.connectionString, `${PREFIX}${name}`, { allowInsecureConnection: true });
const range = (prefix: string) => odata`PartitionKey ge ${prefix} and PartitionKey lt ${prefix + '\uffff'}`;

async function rows(name: string, filter: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const e of table(name).listEntities<Record<string, unknown>>({ queryOptions: { filter } })) out.push(e);
  return out;
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms: number, every = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met in ${ms} ms; last: ${JSON.stringify(v)}`);
    await sleep(every);
  }
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

const newHost = () => startHost({ CREDMAN_LOCAL_KEK_FILE: kekFile }, azurite);

/** SIGKILL: no shutdown hook runs, nothing is flushed, running activities are cut off. */
async function kill(h: TestHost): Promise<void> {
  const exited = new Promise<void>((ok) => (h.process.exitCode !== null || h.process.signalCode !== null ? ok() : h.process.once('exit', () => ok())));
  h.process.kill('SIGKILL');
  await exited;
  rmSync(h.dataDir, { recursive: true, force: true });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'credman-crash-'));
  kekFile = join(work, 'kek.json');
  azurite = await startAzurite();
  idp = await startIdp({
    accessTokenTtl: 3600,
    scopes: ['api'],
    clients: [
      { client_id: 'crash', client_secret: 'crash-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], grant_types: ['client_credentials'], response_types: [] },
    ],
  });
  host = await newHost();

  // Two providers with client secrets; under each, client-credentials connections (Connected at
  // once: a token from the identity provider, sealed in the row, and a running lifecycle) and
  // authorization-code ones (Pending, no secrets of their own).
  const provider = {
    properties: {
      identityProvider: 'oauth2',
      oauth2: {
        grantTypes: {
          authorizationCode: { clientId: 'crash', clientSecret: 'crash-secret-0123456789', authorizationUrl: `${idp.url}/auth`, tokenUrl: `${idp.url}/token`, scopes: 'api' },
          clientCredentials: { clientId: 'crash', clientSecret: 'crash-secret-0123456789', tokenUrl: `${idp.url}/token`, scopes: 'api', clientAuthentication: 'basic' },
        },
      },
    },
  };
  const h = host;
  for (const p of [CASCADE, KEYS]) expect((await h.request('PUT', `/providers/${p}`, { body: provider })).status).toBe(201);
  const puts = [
    ...Array.from({ length: 300 }, (_, i) => ({ p: CASCADE, c: `c${String(i).padStart(3, '0')}`, grant: i % 3 === 0 ? 'ClientCredentials' : 'AuthorizationCode' })),
    ...Array.from({ length: 300 }, (_, i) => ({ p: KEYS, c: `k${String(i).padStart(3, '0')}`, grant: 'ClientCredentials' })),
  ];
  await pool(puts, 16, async ({ p, c, grant }) => {
    const r = await h.request('PUT', `/providers/${p}/connections/${c}`, { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: grant } } });
    if (r.status !== 201) throw new Error(`PUT ${p}/${c}: ${r.status} ${r.text}`);
    if (grant === 'ClientCredentials' && r.body.properties.status !== 'Connected') throw new Error(`${p}/${c} is ${r.body.properties.status}`);
  });
  // A consent state (a login link) and a signed webhook: every table that holds envelopes has one.
  expect((await h.request('PUT', `/providers/${KEYS}/connections/login`, { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } } })).status).toBe(201);
  expect((await h.request('POST', `/providers/${KEYS}/connections/login/getLoginLinks`, { body: {} })).status).toBe(200);
  const hook = await h.request('PUT', '/webhooks/ops', { body: { properties: { url: 'http://127.0.0.1:9/hook', events: ['provider.clientSecretInvalid'] } } });
  expect(hook.status).toBe(201);
  webhookSecret = hook.body.properties.secret;
}, 240_000);

afterAll(async () => {
  if (host) await kill(host);
  await idp?.stop();
  await azurite?.stop();
  rmSync(work, { recursive: true, force: true });
});

it('finishes a provider cascade that a killed host left half-done', async () => {
  let h = host as TestHost;
  const lifecycles = await rows('DurableInstances', range(`lifecycle:${CASCADE}:`));
  expect(lifecycles.filter((e) => e.RuntimeStatus === 'Running')).toHaveLength(100);

  const del = await h.request('DELETE', `/providers/${CASCADE}`);
  expect(del.status).toBe(202);
  const operation = `/operations/cascade%3A${CASCADE}`;
  const seen = await until(
    () => h.request('GET', operation),
    (r) => r.body?.progress?.deletedConnections > 0 || r.body?.status === 'Completed',
    20_000,
    10,
  );
  expect(seen.body).toMatchObject({ status: 'Running', progress: { deletedConnections: expect.any(Number) } });
  // The first page (100) is done; kill once the second page has deleted some of its connections,
  // before it has ended their lifecycles (the page deletes all its connections first).
  const remaining = async () => (await rows('Connections', odata`PartitionKey eq ${CASCADE} and RowKey ne ${'!count'}`)).map((e) => e.rowKey as string);
  await until(remaining, (ids) => ids.length < 190, 20_000, 5);
  await kill(h);
  host = undefined;
  const left = await remaining();
  expect(left.length).toBeGreaterThan(0);
  expect(left.length).toBeLessThan(200);

  host = h = await newHost();
  const done = await until(
    () => h.request('GET', operation),
    (r) => !isActive(r.body?.status),
    60_000,
  );
  expect(done.body).toMatchObject({ id: `cascade:${CASCADE}`, name: 'providerCascade', status: 'Completed', result: { providerId: CASCADE } });
  // Connections deleted by the page the kill cut short are not counted again (see the end of the file).
  expect(done.body.result.deletedConnections).toBeGreaterThanOrEqual(left.length + 100);
  expect(done.body.result.deletedConnections).toBeLessThanOrEqual(300);
  expect((await h.request('GET', `/providers/${CASCADE}`)).status).toBe(404);
  expect(await rows('Connections', odata`PartitionKey eq ${CASCADE}`)).toHaveLength(0);
  expect(await rows('AccessPolicies', range(`${CASCADE}:`))).toHaveLength(0);
  // The other provider is untouched.
  expect(await rows('Connections', odata`PartitionKey eq ${KEYS} and RowKey ne ${'!count'}`)).toHaveLength(301);
  const pageTwo = Array.from({ length: 100 }, (_, i) => `c${100 + i}`);
  // A termination is a queued message: the last page's lifecycles take theirs shortly after.
  const active = async () => (await rows('DurableInstances', range(`lifecycle:${CASCADE}:`))).filter((e) => isActive(e.RuntimeStatus as string)).map((e) => e.partitionKey as string);
  cascadeCut = {
    deletedBeforeKill: pageTwo.filter((c) => !left.includes(c)),
    lifecyclesLeft: await until(active, (ids) => ids.length === 0, 10_000).catch(() => active()),
  };
}, 120_000);

it('finishes key rotation that a killed host left half-done: every envelope on the new version, every secret still opens', async () => {
  // The KEK file gets a new current version between two host runs.
  await kill(host as TestHost);
  host = undefined;
  const kek = await LocalKeyWrapper.open(kekFile, () => undefined);
  const before = await kek.currentKeyId();
  const after = await kek.rotate();
  expect(after).not.toBe(before);
  let h = (host = await newHost());

  const start = await h.request('POST', '/operations/rotateKeys');
  expect(start.status).toBe(202);
  // Wait until at least one page of connections is done (the providers table comes first), then kill.
  const providersScanned = (await rows('Providers', odata`secrets ne ${''}`)).filter((e) => typeof e.secrets === 'string').length;
  const seen = await until(
    () => h.request('GET', '/operations/rotateKeys'),
    (r) => r.body?.progress?.scanned > providersScanned || !isActive(r.body?.status),
    20_000,
    5,
  );
  expect(seen.body).toMatchObject({ status: 'Running' });
  await kill(h);
  host = undefined;
  const cipher = new EnvelopeCipher(kek, new DekCache({ ttlMs: 60_000, maxEntries: 10_000 }));
  const stale = async () => (await rows('Connections', odata`PartitionKey eq ${KEYS} and secrets ne ${''}`)).filter((e) => cipher.keyIdOf(e.secrets as string) !== after).length;
  const staleAtKill = await stale();
  expect(staleAtKill).toBeGreaterThan(0);
  expect(staleAtKill).toBeLessThan(300);

  host = h = await newHost();
  const done = await until(
    () => h.request('GET', '/operations/rotateKeys'),
    (r) => !isActive(r.body?.status),
    30_000,
  );
  expect(done.body).toMatchObject({ name: 'rotateKeys', status: 'Completed' });
  expect(done.body.result.rewrapped).toBeGreaterThanOrEqual(staleAtKill);

  // Every envelope in the tables the rotation covers names the new version and opens with the key
  // file (provider and connection envelopes with their bindings: shared/crypto/integrity.ts).
  const integrity = new RecordIntegrity(cipher, table('Providers'));
  const providers = new ProviderStore(table('Providers'), cipher, integrity);
  const sealer = new ConnectionSealer(`${PREFIX}Connections`, cipher, integrity, async (id) => {
    const p = await providers.getWithSecrets(id);
    return p && (p.bindingKey ?? null);
  });
  const openRow = async (name: string, e: Record<string, unknown>): Promise<Record<string, string>> => {
    const [pk, rk] = [e.partitionKey as string, e.rowKey as string];
    if (name === 'Providers' && pk === 'providers') return (await providers.getWithSecrets(rk))?.secrets ?? {};
    if (name === 'Connections') return sealer.open(pk, rk, e as unknown as Parameters<ConnectionSealer['open']>[2]);
    return cipher.open({ table: `${PREFIX}${name}`, partitionKey: pk, rowKey: rk }, e.secrets as string);
  };
  let opened = 0;
  for (const [name, property] of [
    ['Providers', 'secrets'],
    ['Connections', 'secrets'],
    ['ConsentStates', 'secrets'],
  ] as const) {
    const sealed = (await rows(name, odata`${property} ne ${''}`)).filter((e) => typeof e[property] === 'string');
    expect(sealed.length).toBeGreaterThan(0);
    for (const e of sealed) {
      const envelope = e[property] as string;
      expect({ table: name, row: e.rowKey, kid: cipher.keyIdOf(envelope) }).toEqual({ table: name, row: e.rowKey, kid: after });
      const fields = await openRow(name, e);
      expect(Object.keys(fields).length).toBeGreaterThan(0);
      opened++;
    }
  }
  // The integrity key and the provider, its client-credentials connections (the Pending one holds no secret), the consent state.
  expect(opened).toBe(2 + 300 + 1);
  // And the new host serves a token from a rewrapped row (its caches are cold).
  const token = await h.request('POST', `/providers/${KEYS}/connections/k123/token`, { token: await h.token({ oid: DEV_APP_OBJECT_ID }) });
  expect(token.status).toBe(200);
  expect(typeof token.body.accessToken).toBe('string');

  // The webhook's secret (sealed in its `secrets` property, like every table's) still opens.
  const [hook] = await rows('Webhooks', odata`RowKey eq ${'ops'}`);
  expect(await cipher.open({ table: `${PREFIX}Webhooks`, partitionKey: hook.partitionKey as string, rowKey: 'ops' }, hook.secrets as string)).toEqual({ current: webhookSecret });
  webhookAfterRotation = { kid: cipher.keyIdOf(hook.secrets as string), expected: after };
}, 60_000);

// Two problems these runs found, now fixed: a cascade page ends its connections' lifecycles
// before deleting them (a crash in between used to lose track of them), and webhook secrets sit
// in the `secrets` property that key rotation moves.
it('a cascade cut short by a crash still ends the lifecycles of the connections it had deleted', () => {
  expect(cascadeCut?.deletedBeforeKill.length).toBeGreaterThan(0);
  expect(cascadeCut?.lifecyclesLeft).toEqual([]);
});

it('key rotation moves webhook secrets to the new key version too', () => {
  expect(webhookAfterRotation?.kid).toBe(webhookAfterRotation?.expected);
});
