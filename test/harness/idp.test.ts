import { completeConsent, CookieJar } from '../support/consentDriver';
import { FaultProxy } from '../support/faultProxy';
import { startIdp, type Idp, type IdpClient } from '../support/idp';
import { pkce, postToken } from './oauth';

// The identity provider the OAuth engine's tests run against: client credentials with both
// secret methods, authorization code with PKCE and rotating refresh tokens, revocation of every
// grant, clients added at run time and by dynamic registration.

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const basic: IdpClient = {
  client_id: 'cc-basic',
  client_secret: 'basic-secret',
  token_endpoint_auth_method: 'client_secret_basic',
  redirect_uris: [],
  grant_types: ['client_credentials'],
};
const post: IdpClient = { ...basic, client_id: 'cc-post', client_secret: 'post-secret', token_endpoint_auth_method: 'client_secret_post' };
const web: IdpClient = {
  client_id: 'web',
  client_secret: 'web-secret',
  token_endpoint_auth_method: 'client_secret_post',
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
};

interface Metadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  revocation_endpoint: string;
  authorization_response_iss_parameter_supported: boolean;
  code_challenge_methods_supported: string[];
}

let idp: Idp;
let proxy: FaultProxy;
let metadata: Metadata;
const jar = new CookieJar();

beforeAll(async () => {
  idp = await startIdp({ clients: [basic, post, web] });
  proxy = await FaultProxy.start(idp.url);
  metadata = (await (await fetch(`${idp.url}/.well-known/oauth-authorization-server`)).json()) as Metadata;
});
afterAll(async () => {
  await proxy?.close();
  await idp?.stop();
});
beforeEach(() => idp.resetStats());

/** Consent through the provider's pages; the code and what came with it on the redirect. */
async function authorize(state = 'state-1') {
  const { verifier, challenge } = pkce();
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: web.client_id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const result = await completeConsent(url.href, { cookieJar: jar, stopWhen: (u) => u.href.startsWith(REDIRECT_URI) });
  return { params: result.url.searchParams, verifier, result };
}

async function exchange(code: string, verifier: string) {
  const res = await postToken(metadata.token_endpoint, web, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function refresh(refreshToken: string) {
  const res = await postToken(metadata.token_endpoint, web, { grant_type: 'refresh_token', refresh_token: refreshToken });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test('serves RFC 8414 metadata with the iss response parameter and S256', () => {
  expect(metadata.issuer).toBe(idp.issuer);
  expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
  expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
  expect(metadata.token_endpoint).toBe(`${idp.issuer}/token`);
});

test.each([basic, post])('client credentials with $token_endpoint_auth_method through the proxy', async (client) => {
  const res = await postToken(`${proxy.url}/token`, client, { grant_type: 'client_credentials' });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 60 });
  expect(typeof body.access_token).toBe('string');

  const wrong = await postToken(`${proxy.url}/token`, { ...client, client_secret: 'wrong' }, { grant_type: 'client_credentials' });
  expect(wrong.status).toBe(401);
  expect(await wrong.json()).toMatchObject({ error: 'invalid_client' });
  // The right secret sent the other way is refused too (oidc-provider alone would accept it).
  const otherMethod = client.token_endpoint_auth_method === 'client_secret_basic' ? 'client_secret_post' : 'client_secret_basic';
  const other = await postToken(`${proxy.url}/token`, { ...client, token_endpoint_auth_method: otherMethod }, { grant_type: 'client_credentials' });
  expect(other.status).toBe(401);
  expect(await other.json()).toMatchObject({ error: 'invalid_client' });
  const stats = await idp.stats();
  expect(stats.token.client_credentials).toBe(3);
  expect(stats.tokenSuccess.client_credentials).toBe(1);
});

test('authorization code with PKCE, one rotation, and a replayed refresh token refused', async () => {
  const { params, verifier, result } = await authorize('state-abc');
  expect(result.status).toBe(0);
  expect(result.steps.some((u) => u.pathname.startsWith('/interaction/'))).toBe(true);
  expect(params.get('state')).toBe('state-abc');
  expect(params.get('iss')).toBe(idp.issuer);
  const code = params.get('code');
  expect(code).toBeTruthy();

  const tokens = await exchange(code!, verifier);
  expect(tokens.status).toBe(200);
  expect(tokens.body).toMatchObject({ token_type: 'Bearer', expires_in: 60 });
  expect(tokens.body.refresh_token).toBeTruthy();

  const rotated = await refresh(tokens.body.refresh_token);
  expect(rotated.status).toBe(200);
  expect(rotated.body.refresh_token).toBeTruthy();
  expect(rotated.body.refresh_token).not.toBe(tokens.body.refresh_token);
  expect(rotated.body.access_token).not.toBe(tokens.body.access_token);

  const replayed = await refresh(tokens.body.refresh_token);
  expect(replayed).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });

  const stats = await idp.stats();
  expect(stats.token).toMatchObject({ authorization_code: 1, refresh_token: 2 });
  expect(stats.tokenSuccess).toMatchObject({ authorization_code: 1, refresh_token: 1 });
  expect(stats.authorize).toBe(1);
});

test('a code is refused without its PKCE verifier', async () => {
  const { params } = await authorize();
  const res = await exchange(params.get('code')!, 'x'.repeat(43));
  expect(res).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
});

test('revoking every grant makes the next refresh invalid_grant; client credentials still work', async () => {
  const { params, verifier } = await authorize();
  const tokens = await exchange(params.get('code')!, verifier);
  expect(tokens.status).toBe(200);

  await idp.revokeAll();
  expect(await refresh(tokens.body.refresh_token)).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
  expect((await postToken(metadata.token_endpoint, basic, { grant_type: 'client_credentials' })).status).toBe(200);
});

test('RFC 7009 revocation of a refresh token ends its grant', async () => {
  const { params, verifier } = await authorize();
  const tokens = await exchange(params.get('code')!, verifier);
  const revocationEndpoint = metadata.revocation_endpoint;
  const res = await postToken(revocationEndpoint, web, { token: tokens.body.refresh_token, token_type_hint: 'refresh_token' });
  expect(res.status).toBe(200);
  expect(await refresh(tokens.body.refresh_token)).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
});

test('consent is asked once per grant: a second authorization with the same cookies goes straight back', async () => {
  const first = await authorize();
  const second = await authorize();
  expect(first.params.get('code')).toBeTruthy();
  expect(second.params.get('code')).toBeTruthy();
  expect(second.result.steps.some((u) => u.pathname.startsWith('/interaction/'))).toBe(false);
});

test('denying consent returns access_denied to the redirect URI', async () => {
  const url = new URL(metadata.authorization_endpoint);
  url.search = new URLSearchParams({ response_type: 'code', client_id: web.client_id, redirect_uri: REDIRECT_URI, scope: 'openid', state: 's' }).toString();
  const result = await completeConsent(url.href, { deny: true, stopWhen: (u) => u.href.startsWith(REDIRECT_URI) });
  expect(Object.fromEntries(result.url.searchParams)).toMatchObject({ error: 'access_denied', state: 's', iss: idp.issuer });
});

test('clients added at run time can be replaced', async () => {
  const client: IdpClient = { ...basic, client_id: 'late', client_secret: 'first' };
  await idp.addClient(client);
  expect((await postToken(metadata.token_endpoint, client, { grant_type: 'client_credentials' })).status).toBe(200);

  await idp.addClient({ ...client, client_secret: 'second' });
  expect((await postToken(metadata.token_endpoint, client, { grant_type: 'client_credentials' })).status).toBe(401);
  expect((await postToken(metadata.token_endpoint, { ...client, client_secret: 'second' }, { grant_type: 'client_credentials' })).status).toBe(200);

  await expect(idp.addClient({ ...client, token_endpoint_auth_method: 'bogus' as 'none' })).rejects.toThrow(/invalid_client_metadata/);
});

test('dynamic client registration (RFC 7591) yields a client that can do client credentials', async () => {
  const res = await fetch(metadata.registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'client_secret_basic' }),
  });
  expect(res.status).toBe(201);
  const registered = (await res.json()) as { client_id: string; client_secret: string };
  expect(registered.client_id).toBeTruthy();
  expect(registered.client_secret).toBeTruthy();

  const token = await postToken(metadata.token_endpoint, { ...registered, token_endpoint_auth_method: 'client_secret_basic' }, { grant_type: 'client_credentials' });
  expect(token.status).toBe(200);
});
