import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { CredmanAuthError, CredmanClient, CredmanConnectionError, CredmanError, CredmanUnavailableError, NO_EXPIRY_RECHECK_SECONDS, type CredmanClientOptions } from '../../client/src';
import { tokenOf } from '../support/oauthWorld';
import { countingFetch, devCredential, startClientWorld, type ClientWorld } from './clientWorld';

// The SDK against credman's local host (oidc-provider behind it, a consented connection), with a
// FaultProxy in front of credman that counts what reaches it and answers chosen requests itself.

const CALLER = '00000000-0000-4000-8000-00000000c0c1';
const STRANGER = '00000000-0000-4000-8000-00000000c0c2';

let w: ClientWorld;

beforeAll(async () => {
  w = await startClientWorld();
  await w.policy('caller', { tenantId: DEV_TENANT_ID, objectId: CALLER });
}, 60_000);

afterAll(async () => {
  await w?.stop();
});

afterEach(() => w.credman.clear());

/** A new client (empty cache) as CALLER through the proxy, with counters. */
function newClient(options: Partial<CredmanClientOptions> = {}) {
  const counted = countingFetch();
  const credential = devCredential(w.host, CALLER);
  const client = new CredmanClient({ baseUrl: w.credman.url, credential, fetch: counted.fetch, retryBaseDelayMs: 20, ...options });
  return { client, counted, credential, get: () => client.getToken(w.providerId, w.connectionId) };
}

const reached = () => w.credman.requests;
const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as CredmanError,
  );

describe('getToken', () => {
  it('returns what the token endpoint returns, with expiresOn as a Date', async () => {
    const { client, credential } = newClient();
    const got = await client.getToken(w.providerId, w.connectionId);
    const api = await tokenOf(w.host, w.providerId, w.connectionId, '', await w.host.token({ oid: CALLER }));
    expect(api.status).toBe(200);
    expect(got).toEqual({ ...api.body, expiresOn: new Date(api.body.expiresOn) });
    expect(got.expiresOn).toBeInstanceOf(Date);
    expect(got.claims.refresh_token).toBeUndefined();
    expect(credential.scopes).toEqual(['api://credman/.default']);
  });

  it('serves the second call from its cache: no HTTP request, none reaching credman', async () => {
    const { counted, credential, get } = newClient();
    const before = reached();
    const first = await get();
    const second = await get();
    expect(second).toEqual(first);
    expect(counted.calls).toBe(1);
    expect(reached() - before).toBe(1);
    expect(credential.calls).toBe(1);
    // minValidity goes to the server so that it refreshes as the caller needs.
    expect(new URL(counted.seen[0].url).searchParams.get('minValidity')).toBe('180');
  });

  it('shares one HTTP request among 100 concurrent callers', async () => {
    const { counted, credential, get } = newClient();
    const before = reached();
    const tokens = await Promise.all(Array.from({ length: 100 }, get));
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(counted.calls).toBe(1);
    expect(reached() - before).toBe(1);
    expect(credential.calls).toBe(1);
  });

  it('forceRefresh skips the cache and makes the server refresh; the caller token is reused', async () => {
    const { client, counted, credential, get } = newClient();
    const first = await get();
    await w.world.idp.resetStats();
    const forced = await client.getToken(w.providerId, w.connectionId, { forceRefresh: true, minValidity: 600 });
    expect(forced.accessToken).not.toBe(first.accessToken);
    expect((await w.world.idp.stats()).tokenSuccess.refresh_token).toBe(1);
    expect(Object.fromEntries(new URL(counted.seen[1].url).searchParams)).toEqual({ minValidity: '600', forceRefresh: 'true' });
    // The forced token is now the cached one.
    expect((await get()).accessToken).toBe(forced.accessToken);
    expect(counted.calls).toBe(2);
    expect(credential.calls).toBe(1);
  });
});

describe('a token without expiry (the identity provider sends no expires_in, as GitHub OAuth apps)', () => {
  // A token endpoint that answers as GitHub's does: no expires_in, so credman serves no expiresOn.
  let github: Server;
  let issued = 0;
  const providerId = 'ghapp';
  const connectionId = 'daemon';

  beforeAll(async () => {
    github = createServer((req, res) => {
      req.resume();
      issued += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `gho_${issued}`, token_type: 'bearer', scope: 'repo' }));
    });
    await new Promise<void>((ok) => github.listen(0, '127.0.0.1', ok));
    const tokenUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}/login/oauth/access_token`;
    const grant = { clientId: 'gh-app', clientSecret: 'gh-secret', tokenUrl, scopes: 'repo', clientAuthentication: 'body' };
    const put = (path: string, body: object) => w.host.request('PUT', path, { body });
    expect((await put(`/providers/${providerId}`, { properties: { identityProvider: 'oauth2', oauth2: { grantTypes: { clientCredentials: grant } } } })).status).toBe(201);
    expect((await put(`/providers/${providerId}/connections/${connectionId}`, { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } })).status).toBe(201);
    expect((await put(`/providers/${providerId}/connections/${connectionId}/accessPolicies/caller`, { properties: { tenantId: DEV_TENANT_ID, objectId: CALLER } })).status).toBe(201);
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await new Promise((ok) => github?.close(ok));
  });

  it(`is returned without expiresOn, served from the cache, and asked for again after ${NO_EXPIRY_RECHECK_SECONDS} s`, async () => {
    const { client, counted } = newClient();
    const get = () => client.getToken(providerId, connectionId);
    const api = await tokenOf(w.host, providerId, connectionId, '', await w.host.token({ oid: CALLER }));
    expect(api.status).toBe(200);
    expect(api.body.expiresOn).toBeUndefined();
    const issuedBefore = issued;

    const first = await get();
    expect(first).toEqual({ accessToken: api.body.accessToken, tokenType: 'Bearer', scope: 'repo', claims: api.body.claims });
    expect('expiresOn' in first).toBe(false);
    expect(counted.calls).toBe(1);

    // Cached: up to just before the bound, no request.
    const start = Date.now();
    const clock = jest.spyOn(Date, 'now');
    clock.mockReturnValue(start + NO_EXPIRY_RECHECK_SECONDS * 1000 - 1000);
    expect(await get()).toEqual(first);
    expect(counted.calls).toBe(1);

    // Past the bound: asked again (credman answers from its own store; the provider is not asked).
    clock.mockReturnValue(start + NO_EXPIRY_RECHECK_SECONDS * 1000 + 1000);
    expect(await get()).toEqual(first);
    expect(counted.calls).toBe(2);
    // And cached again from then on.
    expect(await get()).toEqual(first);
    expect(counted.calls).toBe(2);
    clock.mockRestore();
    expect(issued).toBe(issuedBefore);
  });

  it('forceRefresh reaches the identity provider and the new token replaces the cached one', async () => {
    const { client, counted } = newClient();
    const first = await client.getToken(providerId, connectionId);
    const forced = await client.getToken(providerId, connectionId, { forceRefresh: true });
    expect(forced.accessToken).not.toBe(first.accessToken);
    expect(forced.expiresOn).toBeUndefined();
    expect((await client.getToken(providerId, connectionId)).accessToken).toBe(forced.accessToken);
    expect(counted.calls).toBe(2);
  });
});

describe('retries', () => {
  const busy = (code: string) => ({ error: { code, message: 'injected by the test proxy', details: [] } });

  it('waits out a 503 with Retry-After: 1, then succeeds', async () => {
    const { counted, get } = newClient();
    const before = { requests: reached(), forwarded: w.credman.forwarded };
    w.credman.inject('status503', { pathPrefix: '/api/providers/', retryAfterSeconds: 1, body: busy('DependencyUnavailable') });
    const started = performance.now();
    const token = await get();
    const waited = performance.now() - started;
    expect(token.accessToken).toEqual(expect.any(String));
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(counted.calls).toBe(2);
    expect(reached() - before.requests).toBe(2);
    expect(w.credman.forwarded - before.forwarded).toBe(1);
    console.log(`503 + Retry-After: 1 → succeeded after ${Math.round(waited)} ms, 2 requests`);
  });

  it('waits out a 429 with Retry-After: 1, then succeeds', async () => {
    const { counted, get } = newClient();
    w.credman.inject('status429', { pathPrefix: '/api/providers/', retryAfterSeconds: 1, body: busy('TooManyRequests') });
    const started = performance.now();
    await get();
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(counted.calls).toBe(2);
    console.log(`429 + Retry-After: 1 → succeeded after ${Math.round(waited)} ms, 2 requests`);
  });

  it('gives up after its retries with a typed error carrying the code and retryAfter', async () => {
    const { counted, get } = newClient({ retries: 1 });
    w.credman.inject('status503', { pathPrefix: '/api/providers/', retryAfterSeconds: 1, body: busy('DependencyUnavailable'), times: 2 });
    const e = await caught(get());
    expect(e).toBeInstanceOf(CredmanUnavailableError);
    expect(e).toMatchObject({ code: 'DependencyUnavailable', status: 503, retryAfter: 1 });
    expect(counted.calls).toBe(2);
  });

  it('does not wait for a Retry-After beyond maxRetryAfterMs', async () => {
    const { counted, get } = newClient();
    w.credman.inject('status429', { pathPrefix: '/api/providers/', retryAfterSeconds: 120, body: busy('TooManyRequests') });
    const e = await caught(get());
    expect(e).toMatchObject({ code: 'TooManyRequests', status: 429, retryAfter: 120 });
    expect(counted.calls).toBe(1);
  });

  it('retries a reset connection and a timed-out attempt', async () => {
    const { counted, get } = newClient({ timeoutMs: 300 });
    w.credman.inject('reset', { pathPrefix: '/api/providers/' });
    w.credman.inject('timeout', { pathPrefix: '/api/providers/' });
    expect((await get()).accessToken).toEqual(expect.any(String));
    expect(counted.calls).toBe(3);
  });

  it('names an unreadable gateway answer UnexpectedResponse without echoing it', async () => {
    const { get } = newClient({ retries: 1 });
    w.credman.inject('htmlError', { pathPrefix: '/api/providers/', times: 2 });
    const e = await caught(get());
    expect(e).toBeInstanceOf(CredmanUnavailableError);
    expect(e).toMatchObject({ code: 'UnexpectedResponse', status: 502 });
    expect(e.message).not.toMatch(/html|Bad Gateway/i);
  });
});

describe('refusals are typed and not retried', () => {
  it('403 Forbidden for a caller without an access policy', async () => {
    const counted = countingFetch();
    const credential = devCredential(w.host, STRANGER);
    const client = new CredmanClient({ baseUrl: w.credman.url, credential, fetch: counted.fetch });
    const e = await caught(client.getToken(w.providerId, w.connectionId));
    expect(e).toBeInstanceOf(CredmanAuthError);
    expect(e).toMatchObject({ code: 'Forbidden', status: 403 });
    expect(counted.calls).toBe(1);
    expect(e.message).not.toContain(counted.seen[0].authorization!.slice(7));
  });

  it('401 Unauthenticated for a token of the wrong audience; that caller token is not reused', async () => {
    const counted = countingFetch();
    const credential = devCredential(w.host, CALLER, { audience: 'api://someone-else' });
    const client = new CredmanClient({ baseUrl: w.credman.url, credential, fetch: counted.fetch });
    for (let i = 0; i < 2; i++) {
      const e = await caught(client.getToken(w.providerId, w.connectionId));
      expect(e).toBeInstanceOf(CredmanAuthError);
      expect(e).toMatchObject({ code: 'Unauthenticated', status: 401 });
    }
    expect(credential.calls).toBe(2);
  });

  it('asks the credential again only when its token is due (refreshAfterTimestamp passed)', async () => {
    const credential = devCredential(w.host, CALLER, { refreshAfter: () => Date.now() - 1 });
    const { client, counted } = newClient({ credential });
    for (let i = 0; i < 3; i++) await client.getToken(w.providerId, w.connectionId, { forceRefresh: true });
    expect(counted.calls).toBe(3);
    expect(credential.calls).toBe(3);
  });

  it('ReauthorizationRequired (grant revoked at the identity provider) is a CredmanConnectionError, asked once', async () => {
    const { client, counted, get } = newClient();
    const cached = await get();
    await w.world.idp.revokeAll();
    const e = await caught(client.getToken(w.providerId, w.connectionId, { forceRefresh: true }));
    expect(e).toBeInstanceOf(CredmanConnectionError);
    expect(e).toBeInstanceOf(CredmanError);
    expect(e).toMatchObject({ code: 'ReauthorizationRequired', status: 409 });
    expect(counted.calls).toBe(2);
    expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain(cached.accessToken);
  });
});
