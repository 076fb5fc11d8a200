import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite } from '../../local/azurite';
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
  expect((await consent(host, 'mcp', 'me')).status).toBe('success');
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

it("moves its registration to credman's new callback when the public URL changes (RFC 7592), keeping the client and the connections' refresh tokens", async () => {
  const azurite = await startAzurite();
  const kekDir = mkdtempSync(join(tmpdir(), 'credman-dcr-kek-'));
  const env = { CREDMAN_LOCAL_KEK_FILE: join(kekDir, 'kek.json'), CREDMAN_LOCAL_DURABLE: 'false' };
  const hosts: TestHost[] = [];
  try {
    const before = await startHost(env, azurite);
    hosts.push(before);
    const body = { properties: { identityProvider: 'oauth2.1-dcr', oauth2: { grantTypes: { authorizationCode: { serverUrl: world.idp.issuer, scopes: 'openid offline_access api' } } } } };
    const created = await before.request('PUT', '/providers/moving', { body });
    expect(created.status).toBe(201);
    const registered = created.body.properties.oauth2.grantTypes.authorizationCode;
    expect(registered).toMatchObject({ registeredRedirectUrl: `${before.baseUrl}/api/consent/callback`, registrationClientUri: expect.stringContaining(registered.clientId) });
    expect(JSON.stringify(created.body)).not.toMatch(/registrationAccessToken|registration_access_token/);
    await createConnection(before, 'moving', 'early');
    expect((await consent(before, 'moving', 'early')).status).toBe('success');
    await before.stop();

    // The same storage and key under another URL (a custom domain, a new port): PUT the provider again.
    const after = await startHost(env, azurite);
    hosts.push(after);
    const sendBack = (params: unknown) => ({ body: { properties: { identityProvider: 'oauth2.1-dcr', oauth2: { grantTypes: { authorizationCode: params } } } } });
    const moved = await after.request('PUT', '/providers/moving', sendBack(registered));
    expect(moved.status).toBe(200);
    expect(moved.body.properties.oauth2.grantTypes.authorizationCode).toMatchObject({
      clientId: registered.clientId,
      registeredRedirectUrl: `${after.baseUrl}/api/consent/callback`,
    });
    // Consent through the new callback is accepted by the server…
    await createConnection(after, 'moving', 'late');
    expect((await consent(after, 'moving', 'late')).status).toBe('success');
    // …and the connection consented before the move still refreshes under the same client.
    const app = await after.token({ oid: DEV_APP_OBJECT_ID });
    const refreshed = await tokenOf(after, 'moving', 'early', '?forceRefresh=true', app);
    expect(refreshed.status).toBe(200);

    // A replace under the same URL changes nothing; a second move works with the registration
    // token the server rotated at the first (the first one is void now).
    const again = await after.request('PUT', '/providers/moving', sendBack(moved.body.properties.oauth2.grantTypes.authorizationCode));
    expect(again.status).toBe(200);
    await after.stop();
    const third = await startHost(env, azurite);
    hosts.push(third);
    const movedAgain = await third.request('PUT', '/providers/moving', sendBack(again.body.properties.oauth2.grantTypes.authorizationCode));
    expect(movedAgain.status).toBe(200);
    expect(movedAgain.body.properties.oauth2.grantTypes.authorizationCode).toMatchObject({
      clientId: registered.clientId,
      registeredRedirectUrl: `${third.baseUrl}/api/consent/callback`,
    });
  } finally {
    for (const h of hosts) if (h.process.exitCode === null) await h.stop();
    await azurite.stop();
    rmSync(kekDir, { recursive: true, force: true });
  }
}, 60_000);
