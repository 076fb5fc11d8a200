import { authCodeConnection, oauth2Provider, startHost, type TestHost } from '../support/host';

// After a full CRUD run, no stored row holds a secret in plaintext, in any form a reader of the
// storage account could decode.

let host: TestHost;
beforeAll(async () => {
  host = await startHost();
}, 60000);
afterAll(async () => {
  await host?.stop();
});

const SECRETS = ['provider-secret-VALUE-1', 'provider-secret-VALUE-2', 'connection-secret-VALUE-3', 'replaced-secret-VALUE-4'];

function encodings(secret: string): string[] {
  const b = Buffer.from(secret);
  return [secret, b.toString('base64'), b.toString('base64url'), b.toString('hex'), encodeURIComponent(secret)];
}

it('stores no plaintext secret anywhere and every secret row carries an envelope', async () => {
  expect((await host.request('PUT', '/providers/gh', { body: oauth2Provider() })).status).toBe(201);
  expect((await host.request('PUT', '/providers/gh', { body: oauth2Provider({ clientSecret: 'replaced-secret-VALUE-4' }) })).status).toBe(200);
  const daemon = { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials', parameters: { clientSecret: 'connection-secret-VALUE-3' } } };
  expect((await host.request('PUT', '/providers/gh/connections/daemon', { body: daemon })).status).toBe(201);
  expect((await host.request('PUT', '/providers/gh/connections/alice', { body: authCodeConnection })).status).toBe(201);
  expect((await host.request('DELETE', '/providers/gh/connections/alice')).status).toBe(200);

  const dump: string[] = [];
  for (const t of ['credmanProviders', 'credmanConnections', 'credmanAccessPolicies']) {
    for await (const e of host.table(t).listEntities()) dump.push(JSON.stringify(e));
  }
  const all = dump.join('\n');
  for (const s of SECRETS) for (const form of encodings(s)) expect(all).not.toContain(form);

  const provider = await host.table('credmanProviders').getEntity<{ secrets: string }>('providers', 'gh');
  const envelope = JSON.parse(provider.secrets) as { v: number; kid: string; dek: string; f: Record<string, string> };
  // v2: bound to the provider's configuration and version, with the key its connections bind to.
  expect(envelope.v).toBe(2);
  expect(envelope.kid).toMatch(/^local:/);
  expect(Object.keys(envelope.f).sort()).toEqual(['!bindingKey', 'authorizationCode.clientSecret', 'clientCredentials.clientSecret']);
  const connection = await host.table('credmanConnections').getEntity<{ secrets: string }>('gh', 'daemon');
  expect(Object.keys((JSON.parse(connection.secrets) as { f: object }).f)).toEqual(['param.clientSecret']);
});
