import { completeConsent } from '../support/consentDriver';
import { FaultProxy } from '../support/faultProxy';
import { startIdp, type Idp, type IdpClient } from '../support/idp';
import { pkce, postToken } from './oauth';

// Each fault answers what it says; only `resetAfterForward` (and no fault) reaches the provider,
// so a faulted refresh leaves a rotating refresh token unused.

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const cc: IdpClient = { client_id: 'cc', client_secret: 'cc-secret', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], grant_types: ['client_credentials'] };
const web: IdpClient = {
  client_id: 'web',
  client_secret: 'web-secret',
  token_endpoint_auth_method: 'client_secret_basic',
  redirect_uris: [REDIRECT_URI],
  grant_types: ['authorization_code', 'refresh_token'],
};

let idp: Idp;
let proxy: FaultProxy;
beforeAll(async () => {
  idp = await startIdp({ clients: [cc, web] });
  proxy = await FaultProxy.start(idp.url);
});
afterAll(async () => {
  await proxy?.close();
  await idp?.stop();
});
beforeEach(async () => {
  proxy.clear();
  await idp.resetStats();
});

const clientCredentials = (signal?: AbortSignal) => postToken(`${proxy.url}/token`, cc, { grant_type: 'client_credentials' }, signal);
const refresh = (refreshToken: string) => postToken(`${proxy.url}/token`, web, { grant_type: 'refresh_token', refresh_token: refreshToken });

async function refreshToken(): Promise<string> {
  const { verifier, challenge } = pkce();
  const url = new URL(`${idp.url}/auth`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: web.client_id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    state: 's',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const { url: back } = await completeConsent(url.href, { stopWhen: (u) => u.href.startsWith(REDIRECT_URI) });
  const res = await postToken(`${idp.url}/token`, web, { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  return ((await res.json()) as { refresh_token: string }).refresh_token;
}

/** Runs `call` and asserts it never reached the provider. */
async function notForwarded<T>(call: () => Promise<T>): Promise<T> {
  const forwarded = proxy.forwarded;
  const requests = proxy.requests;
  const result = await call();
  expect(proxy.requests).toBe(requests + 1);
  expect(proxy.forwarded).toBe(forwarded);
  expect((await idp.stats()).token.client_credentials).toBe(0);
  return result;
}

test('without a fault, requests and answers pass through unchanged', async () => {
  const res = await clientCredentials();
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toMatchObject({ token_type: 'Bearer' });
  expect(proxy.forwarded).toBe(proxy.requests);
  expect((await idp.stats()).tokenSuccess.client_credentials).toBe(1);
});

test.each([
  ['status500', 500, 'server_error'],
  ['status503', 503, 'temporarily_unavailable'],
] as const)('%s answers %i with an OAuth error body', async (fault, status, error) => {
  proxy.inject(fault);
  const res = await notForwarded(clientCredentials);
  expect(res.status).toBe(status);
  expect(await res.json()).toMatchObject({ error });
});

test('status429 carries Retry-After', async () => {
  proxy.inject('status429', { retryAfterSeconds: 7 });
  const res = await notForwarded(clientCredentials);
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('7');
});

test('malformedJson is a 200 whose JSON does not parse', async () => {
  proxy.inject('malformedJson');
  const res = await notForwarded(clientCredentials);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  // (not toThrow(SyntaxError): the error comes from Node's realm, not the test sandbox's)
  await expect(res.json()).rejects.toThrow(/JSON/);
});

test('htmlError is a 502 HTML page', async () => {
  proxy.inject('htmlError');
  const res = await notForwarded(clientCredentials);
  expect(res.status).toBe(502);
  expect(res.headers.get('content-type')).toBe('text/html');
  expect(await res.text()).toMatch(/^<html>/);
});

test('reset destroys the connection without an answer', async () => {
  proxy.inject('reset');
  await notForwarded(() => expect(clientCredentials()).rejects.toThrow(/fetch failed/));
});

test('timeout never answers', async () => {
  proxy.inject('timeout');
  await notForwarded(() => expect(clientCredentials(AbortSignal.timeout(300))).rejects.toThrow(/aborted due to timeout/));
});

test('times and pathPrefix: a fault hits only matching requests, as many times as asked', async () => {
  proxy.inject('status503', { times: 2, pathPrefix: '/token' });
  expect((await fetch(`${proxy.url}/.well-known/openid-configuration`)).status).toBe(200);
  expect(proxy.pendingFaults).toBe(2);
  expect((await clientCredentials()).status).toBe(503);
  expect((await clientCredentials()).status).toBe(503);
  expect((await clientCredentials()).status).toBe(200);
  expect(proxy.pendingFaults).toBe(0);
  expect((await idp.stats()).token.client_credentials).toBe(1);
});

test('faults are consumed in the order they were injected', async () => {
  proxy.inject('status500');
  proxy.inject('status429');
  expect((await clientCredentials()).status).toBe(500);
  expect((await clientCredentials()).status).toBe(429);
  expect((await clientCredentials()).status).toBe(200);
});

test('a refresh faulted before the provider leaves the refresh token usable', async () => {
  const token = await refreshToken();
  await idp.resetStats();
  proxy.inject('status503');
  expect((await refresh(token)).status).toBe(503);
  expect((await idp.stats()).token.refresh_token).toBe(0);

  const res = await refresh(token);
  expect(res.status).toBe(200);
  expect((await idp.stats()).tokenSuccess.refresh_token).toBe(1);
});

test('resetAfterForward: the provider rotates the token, the caller never hears, and the old token is dead', async () => {
  const token = await refreshToken();
  await idp.resetStats();
  const forwarded = proxy.forwarded;
  proxy.inject('resetAfterForward');
  await expect(refresh(token)).rejects.toThrow(/fetch failed/);
  expect(proxy.forwarded).toBe(forwarded + 1);
  expect((await idp.stats()).tokenSuccess.refresh_token).toBe(1);

  const retried = await refresh(token);
  expect(retried.status).toBe(400);
  expect(await retried.json()).toMatchObject({ error: 'invalid_grant' });
});
