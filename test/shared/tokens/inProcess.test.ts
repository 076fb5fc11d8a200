import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { FakeKeyVault } from '../../../local/fakes/keyVault';
import { createServices, type Services } from '../../../shared/services';
import { azureSettings } from '../../support/azureSettings';
import { startIdp, type Idp } from '../../support/idp';

// getAuthorizationContext: what durable activities of this app call in-process. Same cache,
// single flight and lease as the token endpoint; composed as in Azure (Key Vault KEK through the
// real SDK against the fake vault, Table Storage on Azurite), with oidc-provider issuing tokens.

let azurite: EmbeddedAzurite;
let vault: FakeKeyVault;
let idp: Idp;
let services: Services;
const SECRET = 'in-process-secret-0123456789';

beforeAll(async () => {
  [azurite, vault, idp] = await Promise.all([
    startAzurite(),
    FakeKeyVault.start(),
    startIdp({
      accessTokenTtl: 600,
      scopes: ['api'],
      clients: [{ client_id: 'worker', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], grant_types: ['client_credentials'], response_types: [] }],
    }),
  ]);
  // The forced refresh below must reach the provider though the token is seconds old: no coalescing.
  const settings = azureSettings(azurite, vault, { CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' });
  services = await createServices(settings, { credential: vault.credential, keyVaultClientOptions: vault.clientOptions, log: () => undefined });
  await services.providers.put('api', {
    properties: {
      identityProvider: 'oauth2',
      oauth2: { grantTypes: { clientCredentials: { clientId: 'worker', clientSecret: SECRET, tokenUrl: `${idp.url}/token`, scopes: 'api', clientAuthentication: 'basic' } } },
    },
  });
  const created = await services.connections.put('api', 'jobs', { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } });
  expect(created.resource.properties.status).toBe('Connected');
}, 30_000);

afterAll(async () => {
  await Promise.all([azurite?.stop(), vault?.close(), idp?.stop()]);
});

it('serves the app itself from memory: no Key Vault, storage or identity-provider call per warm read', async () => {
  const first = await services.tokens.getAuthorizationContext('api', 'jobs');
  expect(first).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), expiresOn: expect.any(String) });
  expect(Object.isFrozen(first)).toBe(true);
  const kv = { ...vault.calls };
  await idp.resetStats();
  for (let i = 0; i < 1000; i++) expect((await services.tokens.getAuthorizationContext('api', 'jobs')).accessToken).toBe(first.accessToken);
  expect(vault.calls).toEqual(kv);
  expect((await idp.stats()).token.client_credentials).toBe(0);
});

it('forces a new token when asked', async () => {
  const before = await services.tokens.getAuthorizationContext('api', 'jobs');
  const forced = await services.tokens.getAuthorizationContext('api', 'jobs', { forceRefresh: true });
  expect(forced.accessToken).not.toBe(before.accessToken);
  expect((await idp.stats()).tokenSuccess.client_credentials).toBe(1);
});

it('records use of the connection once, not per request', async () => {
  const row = () => TableClient.fromConnectionString(azurite.connectionString, 'credmanConnections', { allowInsecureConnection: true }).getEntity<{ lastUsedOn?: string }>('api', 'jobs');
  const first = await row();
  expect(Date.parse(first.lastUsedOn ?? '')).toBeGreaterThan(Date.now() - 60_000);
  for (let i = 0; i < 100; i++) await services.tokens.getAuthorizationContext('api', 'jobs');
  expect((await row()).etag).toBe(first.etag);
});

it("is the app's own identity: without its access policy, it gets no token", async () => {
  const appObjectId = services.settings.appIdentity.objectId;
  expect(await services.accessPolicies.delete('api', 'jobs', appObjectId)).toBe(true);
  await expect(services.tokens.getAuthorizationContext('api', 'jobs')).rejects.toMatchObject({ code: 'Forbidden' });
});
