import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableServiceClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DEV_APP_OBJECT_ID } from '../../../local/devIssuer';
import { CredmanError } from '../../../shared/errors';
import { createServices, type Services } from '../../../shared/services';
import { loadSettings } from '../../../shared/settings';

// Tables are not created at start: the services are built on a storage account with no table of
// their prefix, make no request while built, and then every operation works on the tables that do
// not exist yet: reads answer "not found" or an empty list, the first write creates its table.
// Real Azurite, a fresh prefix per services.

let azurite: EmbeddedAzurite;
let dir: string;
let prefixes = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  dir = mkdtempSync(join(tmpdir(), 'credman-tables-'));
});
afterAll(async () => {
  await azurite?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function tablesOf(prefix: string): Promise<string[]> {
  const names: string[] = [];
  const service = TableServiceClient.fromConnectionString(azurite.connectionString, { allowInsecureConnection: true });
  for await (const t of service.listTables()) if (t.name?.startsWith(prefix)) names.push(t.name);
  return names.sort();
}

async function freshServices(): Promise<{ services: Services; prefix: string }> {
  const prefix = `fresh${++prefixes}`;
  const settings = loadSettings({
    CREDMAN_STORAGE_CONNECTION_STRING: azurite.connectionString,
    CREDMAN_TABLE_PREFIX: prefix,
    CREDMAN_KEK_PROVIDER: 'local',
    CREDMAN_LOCAL_KEK_FILE: join(dir, 'kek.json'),
    CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/keys' }]),
    CREDMAN_AUTH_AUDIENCES: 'api://credman',
    CREDMAN_APP_TENANT_ID: '00000000-0000-4000-8000-00000000de01',
    CREDMAN_APP_OBJECT_ID: DEV_APP_OBJECT_ID,
    CREDMAN_PUBLIC_BASE_URL: 'http://localhost:7071',
    CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  return { services: await createServices(settings, { log: () => undefined }), prefix };
}

/** The status a service call ends with: 2xx as 200, a CredmanError as its status. */
async function status(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (err) {
    if (err instanceof CredmanError) return err.status;
    throw err;
  }
}

const provider = {
  properties: {
    identityProvider: 'oauth2',
    oauth2: {
      grantTypes: { authorizationCode: { clientId: 'a', clientSecret: 'first-write-secret', authorizationUrl: 'https://idp.example/authorize', tokenUrl: 'https://idp.example/token', scopes: 'x' } },
    },
  },
} as const;

it('makes no table at start and reads tables that do not exist as empty', async () => {
  const { services: s, prefix } = await freshServices();
  expect(await tablesOf(prefix)).toEqual([]);

  expect((await s.providers.list(10)).items).toEqual([]);
  expect(await status(() => s.providers.get('gh'))).toBe(404);
  expect(await status(() => s.connections.list('gh', 10))).toBe(404);
  expect(await status(() => s.connections.get('gh', 'alice'))).toBe(404);
  expect(await status(() => s.accessPolicies.list('gh', 'alice', 10))).toBe(404);
  expect((await s.webhooks.list(10)).items).toEqual([]);
  expect(await status(() => s.webhooks.get('ops'))).toBe(404);
  expect(await s.webhooks.publisher.subscriptionIds('connection.deleted')).toEqual([]);
  expect(await s.consent.purgeExpired()).toBe(0);
  expect(await status(() => s.consent.start('no-such-state'))).toBe(400);
  const caller = { issuer: 'https://issuer.example', subject: 's', tenantId: '00000000-0000-4000-8000-00000000de01', objectId: DEV_APP_OBJECT_ID, roles: [], groups: [] };
  // No policy allows it (there is no connection): 403, as for any connection the caller may not use.
  expect(await status(() => s.tokens.getToken(caller, 'gh', 'alice'))).toBe(403);
  for (const table of ['providers', 'connections', 'webhooks', 'consentStates'] as const) {
    expect(await s.maintenance.rewrapPage(table)).toEqual({ scanned: 0, rewrapped: 0 });
  }
  expect(await s.health.check()).toEqual({ status: 'Healthy', checks: { storage: 'Healthy', keyVault: 'Healthy' } });
  expect(await s.providers.delete('gh')).toEqual({ outcome: 'absent' });
  expect(await s.providers.deletePage('gh')).toEqual([]);
  expect(await s.providers.finishDelete('gh')).toBe(true);
  expect(await s.connections.delete('gh', 'alice')).toBeUndefined();
  // Reading made no table either.
  expect(await tablesOf(prefix)).toEqual([]);
});

it('creates each table with the first write to it, and concurrent first writes all land', async () => {
  const { services: s, prefix } = await freshServices();
  expect((await s.providers.put('gh', provider)).created).toBe(true);
  expect(await tablesOf(prefix)).toEqual([`${prefix}Providers`]);
  expect((await s.providers.get('gh')).resource.name).toBe('gh');

  // A connection (and the access policy it gets for the app's identity) on tables that do not exist yet.
  const puts = await Promise.all(['alice', 'bob', 'carol'].map((c) => s.connections.put('gh', c, { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } })));
  expect(puts.map((p) => p.created)).toEqual([true, true, true]);
  expect((await s.connections.list('gh', 10)).items.map((c) => c.name)).toEqual(['alice', 'bob', 'carol']);
  expect((await s.accessPolicies.list('gh', 'alice', 10)).items).toHaveLength(1);

  expect((await s.consent.getLoginLink('gh', 'alice', { subject: 's', issuer: 'https://issuer.example' })).loginLink).toMatch(/^http:\/\/localhost:7071\/api\/consent\/start\?state=/);
  expect((await s.webhooks.put('ops', { properties: { url: 'http://127.0.0.1:9/hook', events: ['connection.deleted'] } })).created).toBe(true);

  expect(await tablesOf(prefix)).toEqual(['AccessPolicies', 'Connections', 'ConsentStates', 'Providers', 'Webhooks'].map((t) => `${prefix}${t}`));
});
