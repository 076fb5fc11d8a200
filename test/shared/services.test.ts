import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { FakeKeyVault } from '../../local/fakes/keyVault';
import { HEALTH_CACHE_MS } from '../../shared/health';
import { createServices, type Services } from '../../shared/services';
import { azureSettings } from '../support/azureSettings';

// The composition Azure runs — Key Vault KEK, Table Storage — built from settings, on Azurite and
// the real Key Vault SDK against the fake vault over TLS.

let azurite: EmbeddedAzurite;
let vault: FakeKeyVault;
let services: Services;

beforeAll(async () => {
  [azurite, vault] = await Promise.all([startAzurite(), FakeKeyVault.start()]);
  const settings = azureSettings(azurite, vault);
  services = await createServices(settings, {
    credential: vault.credential,
    keyVaultClientOptions: vault.clientOptions,
    log: () => undefined,
  });
});

afterAll(async () => {
  await Promise.all([azurite?.stop(), vault?.close()]);
});

it('seals provider secrets under the Key Vault key and reports both dependencies healthy', async () => {
  const put = await services.providers.put('gh', {
    properties: {
      identityProvider: 'oauth2',
      oauth2: { grantTypes: { clientCredentials: { clientId: 'a', clientSecret: 'kv-sealed-secret', tokenUrl: 'https://idp.example/token' } } },
    },
  });
  expect(put.created).toBe(true);
  expect(put.resource.properties.oauth2.redirectUrl).toBe('https://credman.example/api/consent/callback');
  expect(await services.health.check()).toEqual({ status: 'Healthy', checks: { storage: 'Healthy', keyVault: 'Healthy' } });
  expect(vault.calls.challenge).toBeGreaterThan(0);
  const row = await TableClient.fromConnectionString(azurite.connectionString, 'credmanProviders', { allowInsecureConnection: true }).getEntity<{ secrets: string }>('providers', 'gh');
  expect(row.secrets).not.toContain('kv-sealed-secret');
  expect((JSON.parse(row.secrets) as { kid: string }).kid).toMatch(new RegExp(`^${vault.keyId()}/[0-9a-f]+$`));
});

/** Moves Date.now past the health cache, as the next probe would see it. */
function later(ms: number): void {
  const now = Date.now();
  jest.spyOn(Date, 'now').mockImplementation(() => now + ms);
}
afterEach(() => jest.restoreAllMocks());

it('spends at most one Key Vault call per cache period on anonymous /health, however often it is asked', async () => {
  later(HEALTH_CACHE_MS + 1);
  const before = vault.calls.get;
  await Promise.all(Array.from({ length: 50 }, () => services.health.check()));
  for (let i = 0; i < 50; i++) await services.health.check();
  expect(vault.calls.get - before).toBe(1);
});

it('reports Key Vault Unhealthy when the vault fails, once the cached report is due', async () => {
  vault.failWith = 503;
  try {
    later(2 * HEALTH_CACHE_MS + 2);
    expect((await services.health.check()).checks).toEqual({ storage: 'Healthy', keyVault: 'Unhealthy' });
  } finally {
    vault.failWith = undefined;
  }
});
