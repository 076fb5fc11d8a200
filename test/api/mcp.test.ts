import { randomUUID } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { OAuthProtectedResourceMetadataSchema } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { CookieJar, completeConsent, submitForm } from '../support/consentDriver';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';
import { startUpstreamApi, type UpstreamApi } from '../support/upstreamApi';

// Issue 19, the MCP server (docs/mcp.md), end to end with the SDK's own client over streamable
// HTTP against the local host: a person's agent lists the tools, gets a login link for a
// self-service provider, and once the person consented (oidc-provider, through credman's pages)
// calls the upstream API (which accepts only tokens oidc-provider says are active) through
// call_api. Another person, and a workload, reach nothing that is not theirs; no token is in a
// tool result until an administrator turns a connection's agentTokenAccess on, and then only for
// callers holding a policy; an unauthenticated request is told where the RFC 9728 metadata is.

const SS = 'mcpss';
const PLAIN = 'plain';
const CLIENT = 'cm-mcp';
const ALICE = randomUUID();
const BOB = randomUUID();
const WORKLOAD = randomUUID();

let world: OAuthWorld;
let api: UpstreamApi;
let host: TestHost;
const results: CallToolResult[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 600 });
  api = await startUpstreamApi({ endpoint: `${world.idp.url}/token/introspection`, clientId: CLIENT, clientSecret: world.clientSecret });
  host = await startHost({ CREDMAN_LOCAL_DURABLE: 'false', CREDMAN_IDP_RETRIES: '0' });
  await registerClient(world, [host], CLIENT);
  expect((await createProvider(host, world, SS, CLIENT, { selfService: { enabled: true }, apiBaseUrl: `${api.url}/v1` })).status).toBe(201);
  expect((await createProvider(host, world, PLAIN, CLIENT, { apiBaseUrl: `${api.url}/v1` })).status).toBe(201);
  // An administrator's connection granted to a workload by an access policy.
  expect((await createConnection(host, PLAIN, 'team')).status).toBe(201);
  expect((await consent(host, PLAIN, 'team')).status).toBe('success');
  expect((await host.request('PUT', `/providers/${PLAIN}/connections/team/accessPolicies/workload`, { body: { properties: { tenantId: DEV_TENANT_ID, objectId: WORKLOAD } } })).status).toBe(201);
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await host?.stop();
  await api?.stop();
  await world?.stop();
});

/** The SDK's client, connected to the host's MCP endpoint with a bearer token; its transport errors are kept. */
async function agent(token: string): Promise<{ client: Client; errors: Error[] }> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (e) => errors.push(e);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${host.baseUrl}/api/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return { client, errors };
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult & { structuredContent?: Record<string, unknown> }> {
  const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
  results.push(r);
  return r;
}

const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

describe("a person's agent", () => {
  let alice: Client;

  it('connects with the person’s token and lists the tools', async () => {
    const { client, errors } = await agent(await host.token({ oid: ALICE }));
    alice = client;
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['call_api', 'connect', 'get_token', 'list_connections']);
    expect(tools.find((t) => t.name === 'call_api')?.inputSchema.required).toEqual(expect.arrayContaining(['providerId', 'connectionId', 'path']));
    // The GET stream the client tries after initializing got 405: no error for a stateless server.
    expect(errors).toEqual([]);
  });

  it('sees the self-service provider without a connection, gets a login link from connect, and after consent sees it Connected', async () => {
    const before = await call(alice, 'list_connections');
    expect(before.structuredContent).toEqual({ connections: [{ providerId: SS, status: 'NotCreated', selfService: true }], truncated: false });

    const connected = await call(alice, 'connect', { providerId: SS });
    expect(connected.isError).toBeFalsy();
    expect(connected.structuredContent).toMatchObject({ providerId: SS, connectionId: `u.${ALICE}`, status: 'Pending' });
    const link = connected.structuredContent?.loginLink as string;
    expect(link.startsWith(`${host.baseUrl}/api/consent/start?state=`)).toBe(true);
    // The person follows it in their browser: signs in at the identity provider, confirms on credman's page.
    const jar = new CookieJar();
    const page = await completeConsent(link, { login: 'alice', cookieJar: jar });
    expect(page.status).toBe(200);
    const done = await submitForm(page.body, page.url, jar, { decision: 'confirm' });
    expect(done.status).toBe(200);

    const after = await call(alice, 'list_connections');
    expect(after.structuredContent).toEqual({ connections: [{ providerId: SS, connectionId: `u.${ALICE}`, status: 'Connected', selfService: true }], truncated: false });
  });

  it("calls the upstream API through call_api with the connection's token, and returns its status and body", async () => {
    api.seen.length = 0;
    const r = await call(alice, 'call_api', { providerId: SS, connectionId: `u.${ALICE}`, method: 'POST', path: '/things/a%2Fb?x=1', contentType: 'application/json', body: '{"n":1}' });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ status: 200, contentType: 'application/json' });
    expect(JSON.parse(r.structuredContent?.body as string)).toMatchObject({ method: 'POST', url: '/v1/things/a%2Fb?x=1', bodyBytes: 7 });
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0].headers.authorization).toMatch(/^Bearer /);
    // An upstream's error is the upstream's answer, not a tool error.
    const limited = await call(alice, 'call_api', { providerId: SS, connectionId: `u.${ALICE}`, path: 'limited' });
    expect(limited.structuredContent).toMatchObject({ status: 429, body: '{"message":"slow down"}' });
  });

  it('cuts a large upstream body and says so', async () => {
    const r = await call(alice, 'call_api', { providerId: SS, connectionId: `u.${ALICE}`, path: 'bytes?n=200000' });
    expect(r.structuredContent).toMatchObject({ status: 200, truncated: true });
    expect((r.structuredContent?.body as string).length).toBe(64 * 1024);
  });

  it("keeps the connection's token out of call_api's result when the upstream reflects it (body, content type, a cut inside it)", async () => {
    api.seen.length = 0;
    const whole = await call(alice, 'call_api', { providerId: SS, connectionId: `u.${ALICE}`, path: 'reflect' });
    const token = api.seen[0].headers.authorization?.slice('Bearer '.length) ?? '';
    expect(token.length).toBeGreaterThan(20);
    expect(whole.structuredContent).toMatchObject({ status: 200, body: expect.stringMatching(/^Bearer \[token\] /) });
    for (const shown of [token, encodeURIComponent(token)]) expect(JSON.stringify(whole)).not.toContain(shown);
    // The 64 KiB cut falls 20 characters into the token: those are not shown either.
    const cut = await call(alice, 'call_api', { providerId: SS, connectionId: `u.${ALICE}`, path: `reflect?pad=${64 * 1024 - 'Bearer '.length - 20}` });
    expect(cut.structuredContent).toMatchObject({ status: 200, truncated: true });
    expect(cut.structuredContent?.body).toMatch(/xBearer \[token\]$/);
    expect(JSON.stringify(cut)).not.toContain(token.slice(0, 20));
  });

  it('refuses a content type that would inject a header: a validation error, not an internal one, and nothing is sent', async () => {
    api.seen.length = 0;
    const r = await call(alice, 'call_api', { providerId: SS, connectionId: `u.${ALICE}`, method: 'POST', path: 'echo', contentType: 'text/plain\r\nx-injected: 1', body: 'x' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/contentType/);
    expect(api.seen).toHaveLength(0);
  });

  it('refuses get_token: raw tokens are not enabled', async () => {
    const r = await call(alice, 'get_token', { providerId: SS, connectionId: `u.${ALICE}` });
    expect([r.isError, textOf(r)]).toEqual([true, expect.stringContaining('TokenExposureNotEnabled')]);
  });
});

describe('callers without access', () => {
  it('another person gets a tool error, not data, and nothing reaches the upstream', async () => {
    const { client: bob } = await agent(await host.token({ oid: BOB }));
    api.seen.length = 0;
    for (const [providerId, connectionId] of [
      [SS, `u.${ALICE}`],
      [PLAIN, 'team'],
    ]) {
      const r = await call(bob, 'call_api', { providerId, connectionId, path: 'echo' });
      expect([r.isError, textOf(r)]).toEqual([true, expect.stringMatching(/^Forbidden: /)]);
      expect(r.structuredContent).toBeUndefined();
    }
    expect(api.seen).toHaveLength(0);
    // Bob sees the provider to connect himself to, and nothing of Alice's.
    expect((await call(bob, 'list_connections')).structuredContent).toEqual({ connections: [{ providerId: SS, status: 'NotCreated', selfService: true }], truncated: false });
    const notSelfService = await call(bob, 'connect', { providerId: PLAIN });
    expect([notSelfService.isError, textOf(notSelfService)]).toEqual([true, expect.stringMatching(/^SelfServiceDisabled: /)]);
  });

  it('a workload sees and uses what its access policy grants, and cannot connect as a person', async () => {
    const { client: workload } = await agent(await host.token({ oid: WORKLOAD, scopes: null }));
    expect((await call(workload, 'list_connections')).structuredContent).toEqual({
      connections: [{ providerId: PLAIN, connectionId: 'team', status: 'Connected', selfService: false }],
      truncated: false,
    });
    const r = await call(workload, 'call_api', { providerId: PLAIN, connectionId: 'team', path: 'echo' });
    expect(r.structuredContent).toMatchObject({ status: 200 });
    const refused = await call(workload, 'connect', { providerId: SS });
    expect([refused.isError, textOf(refused)]).toEqual([true, expect.stringMatching(/^Forbidden: /)]);
  });

  it('never put a token in a tool result', async () => {
    const sent = new Set(api.seen.map((s) => s.headers.authorization?.slice(7)));
    const tokens = [
      ...sent,
      ...(await Promise.all(
        [`u.${ALICE}`].map(async (c) => (await host.request('POST', `/providers/${SS}/connections/${c}/token`, { token: await host.token({ oid: ALICE }) })).body.accessToken as string),
      )),
    ];
    expect(tokens.length).toBeGreaterThan(1);
    const all = JSON.stringify(results);
    for (const t of tokens) expect(all).not.toContain(t);
  });
});

describe("raw tokens: the administrator's agentTokenAccess switch", () => {
  const team = `/providers/${PLAIN}/connections/team`;
  const put = (agentTokenAccess?: boolean) =>
    host.request('PUT', team, { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode', ...(agentTokenAccess === undefined ? {} : { agentTokenAccess }) } } });
  let workload: Client;

  beforeAll(async () => {
    workload = (await agent(await host.token({ oid: WORKLOAD, scopes: null }))).client;
  });

  it('off by default: get_token is a tool error for a caller holding a policy', async () => {
    expect((await host.request('GET', team)).body.properties.agentTokenAccess).toBeUndefined();
    const r = await call(workload, 'get_token', { providerId: PLAIN, connectionId: 'team' });
    expect([r.isError, textOf(r), r.structuredContent]).toEqual([true, expect.stringMatching(/^TokenExposureNotEnabled: /), undefined]);
  });

  it("turned on by an administrator's PUT: the connection keeps its tokens, and get_token returns its current one", async () => {
    const on = await put(true);
    expect([on.status, on.body.properties.agentTokenAccess, on.body.properties.status]).toEqual([200, true, 'Connected']);
    expect((await host.request('GET', team)).body.properties.agentTokenAccess).toBe(true);
    const listed = (await host.request('GET', `/providers/${PLAIN}/connections`)).body.value as { name: string; properties: { agentTokenAccess?: boolean } }[];
    expect(listed.find((c) => c.name === 'team')?.properties.agentTokenAccess).toBe(true);

    const r = await call(workload, 'get_token', { providerId: PLAIN, connectionId: 'team' });
    expect(r.isError).toBeFalsy();
    const current = await tokenOf(host, PLAIN, 'team', '', await host.token({ oid: WORKLOAD, scopes: null }));
    expect(current.status).toBe(200);
    expect(r.structuredContent).toEqual({ accessToken: current.body.accessToken, tokenType: 'Bearer', expiresOn: current.body.expiresOn });
    // The proxy is as before.
    expect((await call(workload, 'call_api', { providerId: PLAIN, connectionId: 'team', path: 'echo' })).structuredContent).toMatchObject({ status: 200 });
  });

  it('a caller without a policy still gets Forbidden, and no token', async () => {
    const { client: bob } = await agent(await host.token({ oid: BOB }));
    const r = await call(bob, 'get_token', { providerId: PLAIN, connectionId: 'team' });
    expect([r.isError, textOf(r), r.structuredContent]).toEqual([true, expect.stringMatching(/^Forbidden: /), undefined]);
  });

  it('a person cannot turn it on for their own connection: self-service PUT refuses the field (400 UnknownField)', async () => {
    const aliceToken = await host.token({ oid: ALICE });
    const r = await host.request('PUT', `/me/providers/${SS}/connection`, { token: aliceToken, body: { properties: { agentTokenAccess: true } } });
    expect([r.status, r.body.error.code, r.body.error.details[0]]).toEqual([400, 'ValidationError', expect.objectContaining({ code: 'UnknownField', target: 'properties.agentTokenAccess' })]);
    expect((await host.request('GET', `/providers/${SS}/connections/u.${ALICE}`)).body.properties.agentTokenAccess).toBeUndefined();
    const { client: alice } = await agent(aliceToken);
    const refused = await call(alice, 'get_token', { providerId: SS, connectionId: `u.${ALICE}` });
    expect([refused.isError, textOf(refused)]).toEqual([true, expect.stringMatching(/^TokenExposureNotEnabled: /)]);
  });

  it('turned off by a PUT without it (a PUT states the whole connection), at once', async () => {
    const off = await put();
    expect([off.status, off.body.properties.agentTokenAccess, off.body.properties.status]).toEqual([200, undefined, 'Connected']);
    const r = await call(workload, 'get_token', { providerId: PLAIN, connectionId: 'team' });
    expect([r.isError, textOf(r)]).toEqual([true, expect.stringMatching(/^TokenExposureNotEnabled: /)]);
  });
});

describe('transport', () => {
  it('refuses a batch of several messages (400, -32600): one POST does not fan out to many tool calls at once', async () => {
    api.seen.length = 0;
    const token = await host.token({ oid: WORKLOAD, scopes: null });
    const message = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'call_api', arguments: { providerId: PLAIN, connectionId: 'team', path: 'echo' } } });
    const post = (body: unknown) =>
      fetch(`${host.baseUrl}/api/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify(body),
      });
    const batch = await post(Array.from({ length: 20 }, (_, i) => message(i + 1)));
    expect(batch.status).toBe(400);
    expect(await batch.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 }, id: null });
    expect(api.seen).toHaveLength(0);
    // One message, alone or as a batch of one, is answered.
    for (const body of [message(1), [message(2)]]) expect((await post(body)).status).toBe(200);
    expect(api.seen).toHaveLength(2);
  });
});

describe('authentication', () => {
  it('answers an unauthenticated request 401 naming the RFC 9728 metadata, which names the trusted issuers', async () => {
    const r = await fetch(`${host.baseUrl}/api/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(r.status).toBe(401);
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(r);
    expect(resourceMetadataUrl?.href).toBe(`${host.baseUrl}/api/.well-known/oauth-protected-resource/mcp`);

    const raw = await fetch(resourceMetadataUrl as URL);
    expect([raw.status, raw.headers.get('content-type')]).toEqual([200, 'application/json']);
    const metadata = OAuthProtectedResourceMetadataSchema.parse(await raw.json());
    // The host trusts its dev issuer and its local OpenID provider (local/devOidc.ts), where a person signs in.
    const issuers = [host.issuer.issuer, `${host.baseUrl}/oidc`];
    expect(metadata).toEqual({ resource: `${host.baseUrl}/api/mcp`, authorization_servers: issuers, bearer_methods_supported: ['header'], resource_name: 'credman' });
    const discovery = await fetch(`${issuers[1]}/.well-known/openid-configuration`);
    expect([discovery.status, ((await discovery.json()) as { issuer: string }).issuer]).toEqual([200, issuers[1]]);
    // What an MCP client does with it: the SDK's discovery, from the URL in the challenge.
    expect(await discoverOAuthProtectedResourceMetadata(`${host.baseUrl}/api/mcp`, { resourceMetadataUrl })).toEqual(metadata);
  });

  it('answers GET and DELETE 405 (stateless: no server stream, no session)', async () => {
    const token = await host.token({ oid: ALICE });
    for (const method of ['GET', 'DELETE']) {
      const r = await fetch(`${host.baseUrl}/api/mcp`, { method, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } });
      expect([method, r.status, r.headers.get('allow')]).toEqual([method, 405, 'POST']);
    }
  });
});
