import { request as httpRequest } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredmanClient } from '../../client/src';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { devCredential } from '../client/clientWorld';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { isErrorShape, startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, startOAuthWorld, type OAuthWorld } from '../support/oauthWorld';
import { startUpstreamApi, type UpstreamApi } from '../support/upstreamApi';

// Issue 19, the token proxy, end to end: a caller with an access policy sends its request through
// the local host; it reaches an API (a server of this test that accepts a token only when the real
// identity provider, oidc-provider, says by introspection that it is active) with the connection's
// token, and the answer comes back. A token revoked at the identity provider makes the API say
// 401: credman refreshes once and sends the request again when it can.

const CALLER = '00000000-0000-4000-8000-0000000190a1';
const STRANGER = '00000000-0000-4000-8000-0000000190b2';
const P = 'api';
const CLIENT = 'cm-proxy';

let world: OAuthWorld;
let api: UpstreamApi;
let azurite: EmbeddedAzurite;
let host: TestHost;
/** The same storage, private networks refused (the identity provider alone allowed): as in Azure. */
let guarded: TestHost;
/** The same storage, forced refreshes coalesced within 30 s (the default). */
let coalescing: TestHost;
let caller: string;

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 600 });
  api = await startUpstreamApi({ endpoint: `${world.idp.url}/token/introspection`, clientId: CLIENT, clientSecret: world.clientSecret });
  azurite = await startAzurite();
  const kek = join(mkdtempSync(join(tmpdir(), 'credman-kek-')), 'kek.json');
  const env = {
    CREDMAN_LOCAL_KEK_FILE: kek,
    CREDMAN_LOCAL_DURABLE: 'false',
    CREDMAN_IDP_RETRIES: '0',
    CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
    // This suite refreshes by force a dozen times a minute on purpose.
    CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: '100',
    CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: '100',
    CREDMAN_FORCE_REFRESH_PER_CLIENT_PER_MINUTE: '100',
  };
  [host, guarded, coalescing] = await Promise.all([
    startHost(env, azurite),
    startHost({ ...env, CREDMAN_ALLOW_PRIVATE_NETWORKS: 'false', CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: '127.0.0.1' }, azurite),
    startHost({ ...env, CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '30' }, azurite),
  ]);
  await registerClient(world, [host, guarded, coalescing], CLIENT);
  expect((await createProvider(host, world, P, CLIENT, { apiBaseUrl: `${api.url}/v1` })).status).toBe(201);
  expect((await createConnection(host, P, 'alice')).status).toBe(201);
  expect((await consent(host, P, 'alice')).status).toBe('success');
  const policy = await host.request('PUT', `/providers/${P}/connections/alice/accessPolicies/caller`, { body: { properties: { tenantId: DEV_TENANT_ID, objectId: CALLER } } });
  expect(policy.status).toBe(201);
  caller = await host.token({ oid: CALLER });
}, 90_000);

afterAll(async () => {
  await Promise.all([host?.stop(), guarded?.stop(), coalescing?.stop()]);
  await azurite?.stop();
  await api?.stop();
  await world?.stop();
});

beforeEach(() => {
  api.seen.length = 0;
});

interface Sent {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request as a client sends it, headers and body (chunked when `chunked`) exactly as given. */
function send(target: TestHost, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; chunked?: boolean; token?: string } = {}): Promise<Sent> {
  const { hostname, port } = new URL(target.baseUrl);
  const headers = { authorization: `Bearer ${opts.token ?? caller}`, ...opts.headers, ...(opts.chunked ? { 'transfer-encoding': 'chunked' } : {}) };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path: `/api/proxy/${P}/alice/${path}`, method: opts.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (opts.body !== undefined && opts.chunked) {
      // Two writes: a body whose length nobody knows before it ends.
      req.write(opts.body.slice(0, 3));
      req.end(opts.body.slice(3));
    } else req.end(opts.body);
  });
}

/** The API refuses the connection's current access token from now on (as after a revocation). */
async function revokeCurrentToken(): Promise<void> {
  const r = await host.request('POST', `/providers/${P}/connections/alice/token`, { token: caller });
  expect(r.status).toBe(200);
  api.refuse(r.body.accessToken);
}

it("sends the caller's request with the connection's token, and none of the caller's credentials or hop-by-hop headers", async () => {
  const r = await send(host, 'repos/o%2Fr/issues?state=open&labels=a,b', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      cookie: 'console=secret',
      connection: 'x-private',
      'x-private': 'hop',
      'x-custom': 'kept',
      'x-correlation-id': 'trace-42',
      'x-forwarded-for': '10.0.0.1',
    },
    body: '{"title":"hi"}',
  });
  expect(r.status).toBe(200);
  expect(JSON.parse(r.text)).toMatchObject({ method: 'POST', url: '/v1/repos/o%2Fr/issues?state=open&labels=a,b', bodyBytes: 14 });
  expect(api.seen).toHaveLength(1);
  const seen = api.seen[0].headers;
  expect(seen.authorization).toMatch(/^Bearer /);
  expect(seen.authorization).not.toContain(caller);
  expect(seen['x-custom']).toBe('kept');
  expect(seen['x-correlation-id']).toBe('trace-42');
  for (const dropped of ['cookie', 'x-private', 'x-forwarded-for']) expect(seen[dropped]).toBeUndefined();
  expect(r.headers['x-correlation-id']).toBe('trace-42');
  expect(r.headers['x-ratelimit-remaining']).toBe('4999');
  expect(r.headers['credman-token-refreshed']).toBeUndefined();
});

it("passes the upstream's 429 with Retry-After and its rate-limit headers through unchanged", async () => {
  const r = await send(host, 'limited');
  expect(r.status).toBe(429);
  expect(r.headers['retry-after']).toBe('7');
  expect(r.headers['x-ratelimit-remaining']).toBe('0');
  expect(r.headers['x-ratelimit-reset']).toBe('1767225600');
  expect(JSON.parse(r.text)).toEqual({ message: 'slow down' });
  expect(r.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/); // none given: one is made
});

it("keeps the upstream's cookies, HSTS, CORS grants and CSP off credman's origin, and sandboxes its body", async () => {
  const r = await send(host, 'hostile');
  expect(r.status).toBe(200);
  expect(r.text).toBe('<script>alert(1)</script>');
  expect(r.headers['x-upstream']).toBe('kept');
  for (const dropped of ['set-cookie', 'strict-transport-security', 'access-control-allow-origin']) expect(r.headers[dropped]).toBeUndefined();
  expect(r.headers['content-security-policy']).toBe("sandbox; default-src 'none'");
  expect(r.headers['x-content-type-options']).toBe('nosniff');
});

it('does not let the upstream speak for credman: its credman-* headers and correlation id are not passed back', async () => {
  const r = await send(host, 'spoof');
  expect(r.status).toBe(200);
  expect(r.headers['credman-token-refreshed']).toBeUndefined();
  expect(r.headers['x-correlation-id']).not.toBe('upstream');
});

it('after an upstream 401, refreshes the token once and sends a replayable request again', async () => {
  await revokeCurrentToken();
  await world.idp.resetStats();
  const r = await send(host, 'echo', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
  expect(r.status).toBe(200);
  expect(r.headers['credman-token-refreshed']).toBe('true');
  expect(JSON.parse(r.text)).toMatchObject({ method: 'PUT', bodyBytes: 7 });
  expect(api.seen.map((s) => s.headers.authorization === api.seen[0].headers.authorization)).toEqual([true, false]);
  expect(api.seen[1].bodySha256).toBe(api.seen[0].bodySha256);
  expect((await world.idp.stats()).token.refresh_token).toBe(1);
});

it('after an upstream 401 on a streamed body, refreshes but does not resend: the 401 comes back saying so', async () => {
  await revokeCurrentToken();
  await world.idp.resetStats();
  const r = await send(host, 'upload', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a body of unknown length', chunked: true });
  expect(r.status).toBe(401);
  expect(r.headers['credman-token-refreshed']).toBe('true');
  expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(api.seen).toHaveLength(1);
  expect(api.seen[0].bodyBytes).toBe(24);
  expect((await world.idp.stats()).token.refresh_token).toBe(1);
  // The caller sends it again itself, and the new token is accepted.
  const again = await send(host, 'upload', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a body of unknown length', chunked: true });
  expect(again.status).toBe(200);
  expect(again.headers['credman-token-refreshed']).toBeUndefined();
});

it('does not resend when the forced refresh brings back the very token the upstream refused (obtained within the interval)', async () => {
  const fresh = await host.request('POST', `/providers/${P}/connections/alice/token?forceRefresh=true`, { token: caller });
  expect(fresh.status).toBe(200);
  api.refuse(fresh.body.accessToken);
  await world.idp.resetStats();
  const r = await send(coalescing, 'echo', { token: await coalescing.token({ oid: CALLER }) });
  expect(r.status).toBe(401);
  expect(r.headers['credman-token-refreshed']).toBe('false');
  expect(api.seen).toHaveLength(1);
  expect((await world.idp.stats()).token.refresh_token).toBe(0);
  // Past that, a refresh does happen: the next test starts from a token the API accepts.
  expect((await host.request('POST', `/providers/${P}/connections/alice/token?forceRefresh=true`, { token: caller })).status).toBe(200);
});

it('answers a caller without an access policy 403, before anything reaches the upstream', async () => {
  const r = await send(host, 'echo', { token: await host.token({ oid: STRANGER }) });
  expect(r.status).toBe(403);
  expect(isErrorShape(JSON.parse(r.text))).toBe(true);
  expect(JSON.parse(r.text).error.code).toBe('Forbidden');
  expect(api.seen).toHaveLength(0);
});

it("reads to its end the body of a request it refuses, so the host's next requests are served", async () => {
  // The host sends a request's whole body to the worker before it reads the answer (docs/local-host.md,
  // "HTTP streaming"): a body left half-read stalls that connection for whoever comes next.
  const big = 'x'.repeat(1024 * 1024);
  const stranger = await host.token({ oid: STRANGER });
  for (let i = 0; i < 3; i++) {
    const refused = await send(host, 'upload', { method: 'POST', token: stranger, headers: { 'content-type': 'text/plain' }, body: big, chunked: true });
    expect(refused.status).toBe(403);
    const badPath = await send(host, 'a/..%2F..%2Fadmin', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big, chunked: true });
    expect(badPath.status).toBe(400);
    expect((await send(host, 'echo')).status).toBe(200);
    // The upstream refuses it unread and closes the connection: what the caller still sends is dropped.
    const upstreamRefused = await send(host, 'tooLarge', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big, chunked: true });
    expect([413, 502]).toContain(upstreamRefused.status);
    expect((await send(host, 'echo')).status).toBe(200);
  }
  expect(api.seen.filter((s) => s.method === 'POST').map((s) => s.url)).toEqual(['/v1/tooLarge', '/v1/tooLarge', '/v1/tooLarge']);
}, 30_000);

it("passes an API's own `query` parameter on, and refuses one named `headers` (the host would make it the request's headers)", async () => {
  const r = await send(host, 'echo?query=is%3Aopen');
  expect(r.status).toBe(200);
  expect(api.seen.at(-1)?.url).toBe('/v1/echo?query=is%3Aopen');
  const forged = await send(host, `echo?Headers=${encodeURIComponent('{"content-length":"5"}')}`);
  expect([forged.status, JSON.parse(forged.text).error.code]).toEqual([400, 'ValidationError']);
});

it('refuses a path that would leave the API root, before anything reaches the upstream', async () => {
  // Dot segments between plain slashes the host resolves before routing (Kestrel too): such a
  // path names another connection (or none). What survives to the proxy is refused by it.
  for (const path of ['..%2Fadmin', 'a/..%2F..%2Fadmin', 'a/%2e%2e%2fadmin', 'x/..%5c..%5cadmin']) {
    const r = await send(host, path);
    expect([r.status, JSON.parse(r.text).error.code]).toEqual([400, 'ValidationError']);
  }
  expect(api.seen).toHaveLength(0);
});

it('refuses an upstream on a private network where private networks are refused (checked per request)', async () => {
  // The provider was written where loopback is allowed; this instance, on the same storage, refuses it.
  const r = await send(guarded, 'echo', { token: await guarded.token({ oid: CALLER }) });
  expect(r.status).toBe(502);
  expect(JSON.parse(r.text).error.code).toBe('UpstreamUnavailable');
  expect(api.seen).toHaveLength(0);
});

it('answers 409 ProxyNotConfigured for a provider with no API base URL', async () => {
  expect((await createProvider(host, world, 'bare', CLIENT)).status).toBe(201);
  expect((await createConnection(host, 'bare', 'c')).status).toBe(201);
  expect((await host.request('PUT', '/providers/bare/connections/c/accessPolicies/caller', { body: { properties: { tenantId: DEV_TENANT_ID, objectId: CALLER } } })).status).toBe(201);
  const r = await host.request('GET', '/proxy/bare/c/anything', { token: caller });
  // Not consented yet: the token endpoint's own answer comes first.
  expect([r.status, r.body.error.code]).toEqual([409, 'ConnectionNotConnected']);
  expect((await consent(host, 'bare', 'c')).status).toBe('success');
  const configured = await host.request('GET', '/proxy/bare/c/anything', { token: caller });
  expect([configured.status, configured.body.error.code]).toEqual([409, 'ProxyNotConfigured']);
});

describe("the SDK's proxy()", () => {
  const client = () => new CredmanClient({ baseUrl: host.baseUrl, credential: devCredential(host, CALLER) });

  it("resolves with the upstream's answer, whatever its status", async () => {
    const ok = await client().proxy(P, 'alice', 'echo?x=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ method: 'POST', url: '/v1/echo?x=1', bodyBytes: 7 });
    const limited = await client().proxy(P, 'alice', '/limited');
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '7']);
  });

  it('rejects with a typed error when credman itself refuses, and sends nothing for a path that leaves the connection', async () => {
    const stranger = new CredmanClient({ baseUrl: host.baseUrl, credential: devCredential(host, STRANGER) });
    await expect(stranger.proxy(P, 'alice', 'echo')).rejects.toMatchObject({ status: 403, code: 'Forbidden' });
    await expect(client().proxy(P, 'alice', '../bob/echo')).rejects.toMatchObject({ code: 'InvalidPath' });
    expect(api.seen).toHaveLength(0);
  });
});
