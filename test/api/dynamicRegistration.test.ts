import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// oauth2.1-dcr: one URL in, credman discovers the server (RFC 8414) and registers itself (RFC 7591)
// at oidc-provider, then consent and tokens work as for any provider.

let world: OAuthWorld;
let host: TestHost;

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 60 });
  host = await startHost();
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
});

const put = (id: string, serverUrl: string, extra: Record<string, string> = {}) =>
  host.request('PUT', `/providers/${id}`, {
    body: { properties: { identityProvider: 'oauth2.1-dcr', oauth2: { grantTypes: { authorizationCode: { serverUrl, scopes: 'openid offline_access api', ...extra } } } } },
  });

it('discovers the server, registers itself and runs consent with the registered client', async () => {
  const created = await put('mcp', world.idp.issuer);
  expect(created.status).toBe(201);
  const params = created.body.properties.oauth2.grantTypes.authorizationCode;
  expect(params).toMatchObject({
    serverUrl: world.idp.issuer,
    issuer: world.idp.issuer,
    authorizationUrl: `${world.idp.issuer}/auth`,
    tokenUrl: `${world.idp.issuer}/token`,
    clientId: expect.any(String),
  });
  expect(params.clientSecret).toBeUndefined();
  expect(JSON.stringify(created.body)).not.toMatch(/secret"/i);

  // Sending the GET body back keeps the registration (no second client at the server).
  const again = await host.request('PUT', '/providers/mcp', { body: { properties: { identityProvider: 'oauth2.1-dcr', oauth2: { grantTypes: { authorizationCode: params } } } } });
  expect(again.status).toBe(200);
  expect(again.body.properties.oauth2.grantTypes.authorizationCode.clientId).toBe(params.clientId);

  await createConnection(host, 'mcp', 'me');
  expect((await consent(host, 'mcp', 'me')).url.searchParams.get('status')).toBe('success');
  const token = await tokenOf(host, 'mcp', 'me', '', await host.token({ oid: DEV_APP_OBJECT_ID }));
  expect(token.status).toBe(200);
  expect(token.body.accessToken).toEqual(expect.any(String));
}, 30_000);

it('refuses a server without usable metadata, naming serverUrl', async () => {
  const r = await put('nothing', `${host.baseUrl}/nowhere`);
  expect(r.status).toBe(400);
  expect(r.body.error.details[0]).toMatchObject({ code: 'DynamicRegistrationFailed', target: 'properties.oauth2.grantTypes.authorizationCode.serverUrl' });
  expect((await host.request('GET', '/providers/nothing')).status).toBe(404);
});

it('refuses metadata that names another issuer (impersonation, RFC 8414 §3.3)', async () => {
  // The fault proxy serves the provider's metadata, which names the provider, not the proxy.
  const r = await put('proxied', world.proxy.url);
  expect(r.status).toBe(400);
  expect(r.body.error.details[0].message).toContain('names issuer');
});
