import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import { startHost, type TestHost } from '../support/host';

// Issue 16 #5, SSRF through identity-provider endpoints: with private networks refused, credman
// must not post a client secret to (nor read metadata from, nor register at) an address on its
// own network, and must never hand back what such a server answered. Two hosts on one storage and
// key: `strict` refuses private networks; `listed` too, but allow-lists 127.0.0.1 as a private
// identity provider. The "internal service" is a loopback HTTP server that records every request.

const SECRET = 'CLIENT-SECRET-must-not-leave-9f2c';
const BODY = 'INTERNAL-BODY-7f3a';

interface Seen {
  method: string;
  path: string;
  body: string;
}

/** A loopback server that records requests and answers as `answer` says. */
async function trapServer(host: string, answer: (req: IncomingMessage, base: string) => { status: number; body: unknown }) {
  const seen: Seen[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', body });
      const a = answer(req, base);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((ok) => server.listen(0, host, ok));
  base = `http://${host}:${(server.address() as AddressInfo).port}`;
  return { seen, base, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

let azurite: EmbeddedAzurite;
let kekDir: string;
let strict: TestHost;
let listed: TestHost;
let tokenAnswer: { status: number; body: unknown };
let trap: Awaited<ReturnType<typeof trapServer>>;
// Where the trap's metadata says to register (another loopback address, not allow-listed).
let registrationAt: string | undefined;
let elsewhere: Awaited<ReturnType<typeof trapServer>>;

beforeAll(async () => {
  trap = await trapServer('127.0.0.1', (req, base) => {
    if (req.url?.startsWith('/.well-known/')) {
      return {
        status: 200,
        body: {
          issuer: base,
          authorization_endpoint: `${base}/auth`,
          token_endpoint: `${base}/token`,
          registration_endpoint: registrationAt ?? `${base}/register`,
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        },
      };
    }
    if (req.url === '/register') return { status: 201, body: { client_id: 'trap-client', client_secret: 'trap-secret' } };
    return tokenAnswer;
  });
  elsewhere = await trapServer('127.0.0.2', () => ({ status: 201, body: { client_id: 'elsewhere' } }));
  azurite = await startAzurite();
  kekDir = mkdtempSync(join(tmpdir(), 'credman-ssrf-kek-'));
  const common = { CREDMAN_LOCAL_KEK_FILE: join(kekDir, 'kek.json'), CREDMAN_LOCAL_DURABLE: 'false', CREDMAN_IDP_RETRIES: '0', CREDMAN_ALLOW_PRIVATE_NETWORKS: 'false' };
  strict = await startHost(common, azurite);
  listed = await startHost({ ...common, CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: '127.0.0.1' }, azurite);
}, 120_000);

afterAll(async () => {
  await Promise.all([strict?.stop(), listed?.stop()]);
  await azurite?.stop();
  await Promise.all([trap?.close(), elsewhere?.close()]);
  if (kekDir) rmSync(kekDir, { recursive: true, force: true });
});

beforeEach(() => {
  trap.seen.length = 0;
  elsewhere.seen.length = 0;
  registrationAt = undefined;
  tokenAnswer = { status: 400, body: { error: 'invalid_request', error_description: `${BODY}: db at 10.0.0.5, user root` } };
});

const clientCredentials = (tokenUrl: string) => ({
  properties: {
    identityProvider: 'oauth2',
    oauth2: { grantTypes: { clientCredentials: { clientId: 'cm', clientSecret: SECRET, tokenUrl, scopes: 'api', clientAuthentication: 'body' } } },
  },
});
const dcr = (serverUrl: string) => ({
  properties: { identityProvider: 'oauth2.1-dcr', oauth2: { grantTypes: { authorizationCode: { serverUrl, scopes: 'openid offline_access' } } } },
});
/** The connection's token, asked for as the app (its access policy is made with the connection). */
const tokenOf = async (host: TestHost, providerId: string, id: string) =>
  host.request('POST', `/providers/${providerId}/connections/${id}/token`, { token: await host.token({ oid: DEV_APP_OBJECT_ID }) });
const connect = (host: TestHost, providerId: string, id: string) =>
  host.request('PUT', `/providers/${providerId}/connections/${id}`, { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } } });

it('refuses a provider whose token endpoint is on loopback with a 400 naming tokenUrl, and sends nothing', async () => {
  for (const tokenUrl of [`${trap.base}/token`, `${trap.base.replace('http:', 'https:')}/token`, 'https://169.254.169.254/latest/meta-data/']) {
    const r = await strict.request('PUT', '/providers/ssrf', { body: clientCredentials(tokenUrl) });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0]).toMatchObject({ code: expect.stringMatching(/^(SchemeNotAllowed|DestinationNotAllowed)$/), target: 'properties.oauth2.grantTypes.clientCredentials.tokenUrl' });
    expect(r.body.error.details[0].message).toContain('CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS');
  }
  expect((await strict.request('GET', '/providers/ssrf')).status).toBe(404);
  expect(trap.seen).toEqual([]);
});

it('refuses a proxy upstream (apiBaseUrl) the destination guard refuses, naming the field; keeps a public one without its trailing slash', async () => {
  const withApi = (apiBaseUrl: string) => ({ properties: { ...clientCredentials('https://idp.example/token').properties, apiBaseUrl } });
  for (const [apiBaseUrl, code] of [
    [`${trap.base}/api`, 'SchemeNotAllowed'],
    ['https://127.0.0.1/api', 'DestinationNotAllowed'],
    ['https://169.254.169.254/latest', 'DestinationNotAllowed'],
    ['https://user:pw@api.example.com', 'CredentialsInUrl'],
    ['ftp://api.example.com', 'SchemeNotAllowed'],
  ]) {
    const r = await strict.request('PUT', '/providers/api-ssrf', { body: withApi(apiBaseUrl) });
    expect([apiBaseUrl, r.status, r.body.error.details[0]]).toEqual([apiBaseUrl, 400, expect.objectContaining({ code, target: 'properties.apiBaseUrl' })]);
  }
  const query = await strict.request('PUT', '/providers/api-ssrf', { body: withApi('https://api.example.com/?x=1') });
  expect([query.status, query.body.error.details[0].target]).toEqual([400, 'properties.apiBaseUrl']);
  expect((await strict.request('GET', '/providers/api-ssrf')).status).toBe(404);
  const ok = await strict.request('PUT', '/providers/api-ssrf', { body: withApi('https://api.example.com/v2/') });
  expect([ok.status, ok.body.properties.apiBaseUrl]).toEqual([201, 'https://api.example.com/v2']);
  expect((await strict.request('GET', '/identityProviders')).body.value.find((t: { name: string }) => t.name === 'github').properties.apiBaseUrl).toBe('https://api.github.com');
  expect(trap.seen).toEqual([]);
});

it('refuses a connection whose own parameters move the token endpoint onto loopback (400 naming the parameter), and sends nothing', async () => {
  expect((await strict.request('PUT', '/providers/public', { body: clientCredentials('https://idp.example/token') })).status).toBe(201);
  const r = await strict.request('PUT', '/providers/public/connections/moved', {
    body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials', parameters: { tokenUrl: `${trap.base}/token` } } },
  });
  expect(r.status).toBe(400);
  expect(r.body.error.details[0]).toMatchObject({ code: 'SchemeNotAllowed', target: 'properties.parameters.tokenUrl' });
  expect((await strict.request('GET', '/providers/public/connections/moved')).status).toBe(404);
  expect(trap.seen).toEqual([]);
});

it('refuses at connect time too (a provider saved while allowed): no client secret leaves, and the connection says why without the server body', async () => {
  expect((await listed.request('PUT', '/providers/saved', { body: clientCredentials(`${trap.base}/token`) })).status).toBe(201);
  const c = await connect(strict, 'saved', 'c1');
  expect(c.status).toBe(201);
  expect(c.body.properties.status).toBe('Error');
  expect(c.body.properties.error).toMatchObject({ code: 'ProviderMisconfigured', message: expect.stringContaining('CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS') });
  const token = await tokenOf(strict, 'saved', 'c1');
  expect(token.status).toBe(409);
  expect(token.body.error.code).toBe('ProviderMisconfigured');
  expect(trap.seen).toEqual([]);
  expect(JSON.stringify([c.body, token.body])).not.toContain(SECRET);
});

it('with the allow-list naming the host it works, yet the server body never reaches the API or the connection', async () => {
  expect((await listed.request('PUT', '/providers/listed', { body: clientCredentials(`${trap.base}/token`) })).status).toBe(201);
  const refused = await connect(listed, 'listed', 'c1');
  expect(trap.seen).toHaveLength(1);
  expect(trap.seen[0].body).toContain(SECRET); // allow-listed: the identity provider is called
  expect(refused.body.properties.status).toBe('Error');
  expect(refused.body.properties.error).toMatchObject({ code: 'IdentityProviderError', message: expect.stringContaining('invalid_request') });
  const token = await tokenOf(listed, 'listed', 'c1');
  expect(token.status).toBe(502);
  // Free text in `error` itself is not passed on either.
  tokenAnswer = { status: 400, body: { error: `${BODY} root password hunter2`, message: BODY } };
  const again = await tokenOf(listed, 'listed', 'c1');
  const stored = await listed.request('GET', '/providers/listed/connections/c1');
  for (const text of [refused.text, token.text, again.text, stored.text]) {
    expect(text).not.toContain(BODY);
    expect(text).not.toContain('10.0.0.5');
    expect(text).not.toContain('hunter2');
  }
  expect(again.body.error.message).toContain('unknown_error');

  tokenAnswer = { status: 200, body: { access_token: 'at-from-private-idp', token_type: 'Bearer', expires_in: 3600 } };
  const ok = await connect(listed, 'listed', 'c1');
  expect(ok.body.properties.status).toBe('Connected');
  expect((await tokenOf(listed, 'listed', 'c1')).body.accessToken).toBe('at-from-private-idp');
});

it('refuses discovery at a loopback serverUrl (400, nothing sent), and registration at an endpoint the metadata names on another private address', async () => {
  const r = await strict.request('PUT', '/providers/dcr', { body: dcr(trap.base) });
  expect(r.status).toBe(400);
  expect(r.body.error.details[0]).toMatchObject({ code: 'SchemeNotAllowed', target: 'properties.oauth2.grantTypes.authorizationCode.serverUrl' });
  expect(trap.seen).toEqual([]);

  // Allow-listed 127.0.0.1 serves metadata naming 127.0.0.2 (not allow-listed) for registration.
  registrationAt = `${elsewhere.base}/register`;
  const hop = await listed.request('PUT', '/providers/dcr', { body: dcr(trap.base) });
  expect(hop.status).toBe(400);
  expect(hop.body.error.details[0]).toMatchObject({ code: 'SchemeNotAllowed', target: 'properties.oauth2.grantTypes.authorizationCode.serverUrl' });
  expect(hop.body.error.details[0].message).toContain('registration_endpoint');
  expect(elsewhere.seen).toEqual([]);
  expect(trap.seen.every((s) => s.path.startsWith('/.well-known/'))).toBe(true);

  // With the registration endpoint on the allow-listed host, discovery and registration work.
  registrationAt = undefined;
  const created = await listed.request('PUT', '/providers/dcr', { body: dcr(trap.base) });
  expect(created.status).toBe(201);
  expect(created.body.properties.oauth2.grantTypes.authorizationCode.clientId).toBe('trap-client');
  expect(trap.seen.some((s) => s.path === '/register')).toBe(true);
});
