import { randomUUID } from 'node:crypto';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { CookieJar, completeConsent } from '../support/consentDriver';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, startOAuthWorld, type OAuthWorld } from '../support/oauthWorld';
import { buildRequest, checkResponse, loadDefinition, matchUrl, type CheckedResponse, type Definition, type Inputs } from './definition';

// Every operation of the connector definition, called on a running credman (the local host, with
// oidc-provider as the identity provider and a connection made by real consent): each request is
// built from the definition, each answer checked against the definition's schema for its status,
// a success and an error for every operation. The last test fails if an operation went uncalled.

const P = 'saas';
const WORKFLOW_OID = randomUUID();
let world: OAuthWorld;
let host: TestHost;
let def: Definition;
let workflowToken: string;
let nonAdminToken: string;
const calls = new Map<string, CheckedResponse[]>();

beforeAll(async () => {
  const started = Date.now();
  [world, def] = await Promise.all([startOAuthWorld({ accessTokenTtl: 300 }), loadDefinition()]);
  host = await startHost({ CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true' });
  await registerClient(world, [host], 'cm-connector');
  expect((await createProvider(host, world, P, 'cm-connector')).status).toBe(201);
  expect((await createProvider(host, world, 'other', 'cm-connector')).status).toBe(201);
  for (const c of ['alice', 'bob']) expect((await createConnection(host, P, c)).status).toBe(201);
  expect((await consent(host, P, 'alice')).status).toBe('success');
  // The workflow's identity (the user signed in to the connector) has a policy on alice only.
  const policy = await host.request('PUT', `/providers/${P}/connections/alice/accessPolicies/workflow`, { body: { properties: { tenantId: DEV_TENANT_ID, objectId: WORKFLOW_OID } } });
  expect(policy.status).toBe(201);
  workflowToken = await host.token({ oid: WORKFLOW_OID });
  nonAdminToken = workflowToken;
  console.log(`connector operations: set up in ${Date.now() - started} ms`);
}, 90_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
});

/** Calls an operation as Logic Apps would, built from the definition, and checks the answer against it. */
async function call(operationId: string, inputs: Inputs = {}, opts: { token?: string; notificationUrl?: string; url?: string } = {}): Promise<CheckedResponse> {
  const op = def.op(operationId);
  const req = buildRequest(def, op, inputs, { notificationUrl: opts.notificationUrl });
  const res = await host.request(req.method, opts.url ?? `${host.baseUrl}${req.url}`, { token: opts.token ?? host.adminToken, ...(req.body === undefined ? {} : { body: req.body }) });
  const checked = checkResponse(op, res, { notification: op.raw['x-ms-trigger'] !== undefined && res.status === 201 });
  calls.set(operationId, [...(calls.get(operationId) ?? []), checked]);
  return checked;
}

/** Follows a URL the API returned (nextLink, Location) only if it reaches an operation of the definition. */
function reached(method: string, url: string) {
  const m = matchUrl(def, method, url);
  if (!m) throw new Error(`${method} ${url} reaches no operation of the connector definition`);
  return m;
}

describe('actions', () => {
  it('Get access token: the policy holder gets a token; minValidity and forceRefresh as query; errors in the error shape', async () => {
    const first = await call('GetAccessToken', { providerId: P, connectionId: 'alice' }, { token: workflowToken });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String) });
    const forced = await call('GetAccessToken', { providerId: P, connectionId: 'alice', minValidity: 60, forceRefresh: true }, { token: workflowToken });
    expect(forced.status).toBe(200);
    expect(forced.body.accessToken).not.toBe(first.body.accessToken);

    const noPolicy = await call('GetAccessToken', { providerId: P, connectionId: 'bob' }, { token: workflowToken });
    expect([noPolicy.status, noPolicy.body.error.code]).toEqual([403, 'Forbidden']);
    expect(noPolicy.describedBy).toBe('default');
    const missing = await call('GetAccessToken', { providerId: P, connectionId: 'nobody' }, { token: workflowToken });
    expect(missing.status).toBeGreaterThanOrEqual(400);
    expect(missing.text).not.toContain(first.body.accessToken);
  });

  it('List credential providers: a page, then the next through nextLink; non-admins are refused', async () => {
    const page = await call('ListProviders', { $top: 1 });
    expect(page.status).toBe(200);
    expect(page.body.value).toHaveLength(1);
    const next = reached('GET', page.body.nextLink);
    expect(next.op.operationId).toBe('ListProviders');
    const second = await call('ListProviders', next.inputs);
    expect([...page.body.value, ...second.body.value].map((p: { name: string }) => p.name).sort()).toEqual(['other', P]);
    expect(second.body.nextLink).toBeUndefined();
    // Client secrets are write-only in credman; the definition's schema has no place for them either.
    expect(page.text + second.text).not.toContain(world.clientSecret);

    const forbidden = await call('ListProviders', {}, { token: nonAdminToken });
    expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'Forbidden']);
  });

  it('List connections: paged with $top and nextLink; 404 for an unknown provider', async () => {
    const page = await call('ListConnections', { providerId: P, $top: 1 });
    expect(page.status).toBe(200);
    const next = reached('GET', page.body.nextLink);
    expect(next.op.operationId).toBe('ListConnections');
    const rest = await call('ListConnections', next.inputs);
    const all = [...page.body.value, ...rest.body.value];
    expect(all.map((c: { name: string; properties: { status: string } }) => [c.name, c.properties.status])).toEqual([
      ['alice', 'Connected'],
      ['bob', 'Pending'],
    ]);

    const missing = await call('ListConnections', { providerId: 'nope' });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'ProviderNotFound']);
  });

  it('Get connection: status and expiry; 404 ConnectionNotFound', async () => {
    const alice = await call('GetConnection', { providerId: P, connectionId: 'alice' });
    expect(alice.status).toBe(200);
    expect(alice.body).toMatchObject({ id: `/providers/${P}/connections/alice`, name: 'alice', type: 'connections', properties: { status: 'Connected', oauth2grantType: 'AuthorizationCode' } });
    expect(Date.parse(alice.body.properties.expiresOn)).toBeGreaterThan(Date.now());

    const missing = await call('GetConnection', { providerId: P, connectionId: 'nobody' });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'ConnectionNotFound']);
  });

  it('Get login link: a link on the credman host; a redirect elsewhere is refused', async () => {
    const link = await call('GetLoginLink', { providerId: P, connectionId: 'bob', postLoginRedirectUrl: `${host.baseUrl}/done` });
    expect(link.status).toBe(200);
    expect(link.body.loginLink.startsWith(`${host.apiUrl}/consent/start?state=`)).toBe(true);
    const noRedirect = await call('GetLoginLink', { providerId: P, connectionId: 'bob' });
    expect(noRedirect.status).toBe(200);

    const elsewhere = await call('GetLoginLink', { providerId: P, connectionId: 'bob', postLoginRedirectUrl: 'https://phish.example/after' });
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([400, 'ValidationError']);
    expect(elsewhere.body.error.details[0].target).toBe('postLoginRedirectUrl');
  });

  it('Confirm consent code: the code of a redirect connects the connection, once; a wrong one is 400', async () => {
    expect((await createConnection(host, P, 'carol')).status).toBe(201);
    const link = await call('GetLoginLink', { providerId: P, connectionId: 'carol', postLoginRedirectUrl: `${host.baseUrl}/done` });
    const end = await completeConsent(link.body.loginLink, { cookieJar: new CookieJar(), stopWhen: (u) => u.pathname === '/done' });
    expect(end.url.searchParams.get('status')).toBe('confirmationRequired');
    const consentCode = end.url.searchParams.get('consentCode') as string;
    const ok = await call('ConfirmConsentCode', { providerId: P, connectionId: 'carol', consentCode });
    expect(ok.status).toBe(200);
    expect(ok.body.properties.status).toBe('Connected');
    const again = await call('ConfirmConsentCode', { providerId: P, connectionId: 'carol', consentCode });
    expect([again.status, again.body.error.details[0].code]).toEqual([400, 'InvalidConsentCode']);
  });

  it('fills the designer pickers: every x-ms-dynamic-values list contains the ids the actions use', async () => {
    for (const op of def.operations) {
      for (const p of op.parameters.filter((x) => x['x-ms-dynamic-values'])) {
        const dv = p['x-ms-dynamic-values'] as NonNullable<(typeof p)['x-ms-dynamic-values']>;
        const inputs: Inputs = Object.fromEntries(Object.entries(dv.parameters ?? {}).map(([name, ref]) => [name, ref.parameter === 'providerId' ? P : '']));
        const list = await call(dv.operationId, inputs);
        const values = (list.body[dv['value-collection'] ?? 'value'] as Array<Record<string, unknown>>).map((v) => v[dv['value-path']]);
        expect(values).toContain(p.name === 'providerId' ? P : 'alice');
      }
    }
  });
});

describe('trigger operations', () => {
  const callback = 'https://prod-01.westeurope.logic.azure.com/workflows/0f1e2d3c/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbC123';

  it('subscribes (201 + Location) with the callback URL in the body, and refuses what credman would not post to', async () => {
    const sub = await call('WhenConnectionNeedsReauthorization', {}, { notificationUrl: callback });
    expect(sub.status).toBe(201);
    // The callback's SAS query is a credential: sealed in storage, redacted in every answer.
    const redacted = callback.replace(/=[^&]*/g, '=***');
    expect(sub.body.properties).toMatchObject({ url: redacted, events: ['connection.reauthorizationRequired'], signed: true });
    expect(JSON.stringify(sub.body)).not.toContain('AbC123');
    const location = sub.headers.get('location') as string;
    const target = reached('DELETE', location);
    expect(target).toEqual({ op: def.op('DeleteTriggerSubscription'), inputs: { subscriptionId: sub.body.name } });

    const refused = await call('WhenConnectionNeedsReauthorization', {}, { notificationUrl: 'ftp://hooks.example.com/x' });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'ValidationError']);
    expect(refused.body.error.details[0]).toMatchObject({ code: 'SchemeNotAllowed', target: 'properties.url' });
    const forbidden = await call('WhenConnectionNeedsReauthorization', {}, { notificationUrl: callback, token: nonAdminToken });
    expect(forbidden.status).toBe(403);

    // Unsubscribe as Logic Apps does: DELETE on the Location (an operation of the definition).
    const deleted = await call('DeleteTriggerSubscription', target.inputs, { url: location });
    expect(deleted.status).toBe(200);
    expect((await call('DeleteTriggerSubscription', target.inputs)).status).toBe(204);
    expect((await host.request('GET', location)).status).toBe(404);
    const notAdmin = await call('DeleteTriggerSubscription', target.inputs, { token: nonAdminToken });
    expect([notAdmin.status, notAdmin.body.error.code]).toEqual([403, 'Forbidden']);
  });
});

it('would notice drift: a field the definition does not describe, or a body it describes otherwise, fails the check', () => {
  const got = (calls.get('GetConnection') ?? []).find((r) => r.status === 200) as CheckedResponse;
  const op = def.op('GetConnection');
  const without = structuredClone(op);
  delete without.responses['200'].schema?.properties?.properties.properties?.expiresOn;
  expect(() => checkResponse(without, got)).toThrow(/must NOT have additional properties/);
  const renamed = structuredClone(op);
  const status = renamed.responses['200'].schema?.properties?.properties.properties?.status as { enum: string[] };
  status.enum = ['Pending', 'Linked', 'Error'];
  expect(() => checkResponse(renamed, got)).toThrow(/must be equal to one of the allowed values/);
  expect(() => buildRequest(def, op, { providerId: P, connectionId: 'alice', $top: 5 })).toThrow(/declares no parameter or body field \$top/);
  expect(() => buildRequest(def, op, { providerId: 'bad id' })).toThrow(/providerId=bad id is refused/);
});

it('called every operation of the definition, each with a success and an error it describes', () => {
  const summary = def.operations.map((op) => {
    const got = calls.get(op.operationId) ?? [];
    return { op: op.operationId, success: got.some((r) => r.status < 300), error: got.some((r) => r.status >= 400 && r.describedBy === 'default') };
  });
  expect(summary).toEqual(def.operations.map((op) => ({ op: op.operationId, success: true, error: true })));
  console.log(`connector operations: ${def.operations.length} operations, ${[...calls.values()].flat().length} calls`);
});
