import { randomUUID } from 'node:crypto';
import { DEV_CLIENT_APP_ID, DEV_TENANT_ID } from '../../local/devIssuer';
import { IDENTIFIER_PATTERN } from '../../shared/model/identifiers';
import { selfServiceConnectionId } from '../../shared/management/selfService';
import { CookieJar, completeConsent, submitForm } from '../support/consentDriver';
import { isErrorShape, startHost, type TestHost } from '../support/host';
import { createConnection, createProvider, registerClient, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Self-service connections end to end (docs/api.md, "Self-service connections"): people with
// plain tokens (no admin role) create, consent, use and delete their own connection, against the
// local host and oidc-provider; another person can reach none of it.

let world: OAuthWorld;
let host: TestHost;
const SS = 'selfsvc';
const PLAIN = 'plain';
const APP = '00000000-0000-4000-8000-0000000000a1';
/** An origin admins' login links may return to; a person's may not. */
const OTHER_APP = 'https://app.example';

const person = () => {
  const oid = randomUUID();
  return { oid, id: `u.${oid}`, token: '', other: '' };
};
const alice = person();
const bob = person();

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 600 });
  host = await startHost({ CREDMAN_IDP_TIMEOUT_SECONDS: '2', CREDMAN_IDP_RETRIES: '1', CREDMAN_LOCAL_DURABLE: 'false', CREDMAN_ALLOWED_REDIRECT_ORIGINS: OTHER_APP });
  await registerClient(world, [host], 'cm-ss');
  expect((await createProvider(host, world, SS, 'cm-ss', { selfService: { enabled: true, appIds: [APP] } })).status).toBe(201);
  expect((await createProvider(host, world, PLAIN, 'cm-ss')).status).toBe(201);
  for (const p of [alice, bob]) {
    p.token = await host.token({ oid: p.oid, appId: APP });
    p.other = await host.token({ oid: p.oid }); // the same person through another app
  }
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
});

const me = (method: string, path: string, token: string, body?: unknown) => host.request(method, `/me/${path}`, { token, ...(body === undefined ? {} : { body }) });
const mine = (provider: string) => `providers/${provider}/connection`;
const DONE = () => `${host.baseUrl}/done`;

/** Follows the person's own login link (with a redirect) as `login` at the identity provider; the consent code it ends with. */
async function signIn(token: string, login: string): Promise<string> {
  const link = await me('POST', `${mine(SS)}/getLoginLinks`, token, { postLoginRedirectUrl: DONE() });
  expect(link.status).toBe(200);
  const end = await completeConsent(link.body.loginLink as string, { login, cookieJar: new CookieJar(), stopWhen: (u) => u.toString().startsWith(DONE()) });
  expect(end.url.searchParams.get('status')).toBe('confirmationRequired');
  return end.url.searchParams.get('consentCode') as string;
}

describe('a person connects themselves', () => {
  it('refuses providers without self-service, and unknown ones, with one answer', async () => {
    for (const p of [PLAIN, 'no-such-provider']) {
      const r = await me('PUT', mine(p), alice.token);
      expect([r.status, r.body.error.code]).toEqual([403, 'SelfServiceDisabled']);
    }
    expect((await host.request('GET', `/providers/${PLAIN}/connections`)).body.value).toEqual([]);
  });

  it('creates their connection under an id derived from them, idempotently, with a policy for exactly them', async () => {
    const first = await me('PUT', mine(SS), alice.token, { properties: { displayName: 'Alice' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: alice.id, properties: { status: 'Pending', owner: { tenantId: DEV_TENANT_ID, objectId: alice.oid } } });
    const again = await me('PUT', mine(SS), alice.token);
    expect(again.status).toBe(200);
    expect(again.body.properties.createdOn).toBe(first.body.properties.createdOn);

    // Admins see it, with its owner; its policies are the app's own and the person's.
    const admin = await host.request('GET', `/providers/${SS}/connections/${alice.id}`);
    expect(admin.body.properties.owner).toEqual({ tenantId: DEV_TENANT_ID, objectId: alice.oid });
    const policies = await host.request('GET', `/providers/${SS}/connections/${alice.id}/accessPolicies`);
    expect(policies.body.value.find((p: { name: string }) => p.name === alice.id).properties).toEqual({ tenantId: DEV_TENANT_ID, objectId: alice.oid, appIds: [APP] });
    expect(policies.body.value).toHaveLength(2);
  });

  it('lists the self-service providers with their own connection only', async () => {
    const forAlice = await me('GET', 'providers', alice.token);
    expect(forAlice.status).toBe(200);
    expect(forAlice.body.value).toEqual([expect.objectContaining({ name: SS, properties: expect.objectContaining({ connection: { id: alice.id, status: 'Pending' } }) })]);
    const forBob = await me('GET', 'providers', bob.token);
    expect(forBob.body.value).toHaveLength(1);
    expect(forBob.body.value[0].properties.connection).toBeUndefined();
    expect((await me('GET', 'connections', bob.token)).body.value).toEqual([]);
    expect((await me('GET', 'connections', alice.token)).body.value.map((c: { name: string }) => c.name)).toEqual([alice.id]);
  });

  it('consents without the confirmation page, confirmed with their own token; nobody else can confirm it', async () => {
    const code = await signIn(alice.token, 'alice');
    // Bob (say, the link was forwarded to him and he is signed in at the console) has no connection: 404.
    const noConnection = await me('POST', `${mine(SS)}/confirmConsentCode`, bob.token, { consentCode: code });
    expect([noConnection.status, noConnection.body.error.code]).toEqual([404, 'ConnectionNotFound']);
    // With a connection of his own, the code is not for it: refused, and Alice's code survives.
    expect((await me('PUT', mine(SS), bob.token)).status).toBe(201);
    const notHis = await me('POST', `${mine(SS)}/confirmConsentCode`, bob.token, { consentCode: code });
    expect([notHis.status, notHis.body.error.details[0].code]).toEqual([400, 'InvalidConsentCode']);
    expect((await host.request('GET', `/providers/${SS}/connections/${bob.id}`)).body.properties.status).toBe('Pending');

    const confirmed = await me('POST', `${mine(SS)}/confirmConsentCode`, alice.token, { consentCode: code });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.properties.status).toBe('Connected');
    const reused = await me('POST', `${mine(SS)}/confirmConsentCode`, alice.token, { consentCode: code });
    expect(reused.status).toBe(400);
  });

  it("serves the person's token to the person through the provider's app only", async () => {
    const ok = await tokenOf(host, SS, alice.id, '', alice.token);
    expect(ok.status).toBe(200);
    expect(ok.body.accessToken).toEqual(expect.any(String));
    expect((await tokenOf(host, SS, alice.id, '', alice.other)).status).toBe(403);
    expect((await tokenOf(host, SS, alice.id, '', bob.token)).status).toBe(403);
  });

  it("returns a person's consent code to credman's own origin only", async () => {
    const theirs = await me('POST', `${mine(SS)}/getLoginLinks`, alice.token, { postLoginRedirectUrl: `${OTHER_APP}/done` });
    expect([theirs.status, theirs.body.error.details[0].code]).toEqual([400, 'RedirectNotAllowed']);
    const admins = await host.request('POST', `/providers/${SS}/connections/${alice.id}/getLoginLinks`, { body: { postLoginRedirectUrl: `${OTHER_APP}/done` } });
    expect(admins.status).toBe(200);
  });

  it('reconnects through the confirmation page when the link has no redirect URL', async () => {
    const link = await me('POST', `${mine(SS)}/getLoginLinks`, alice.token);
    expect(link.status).toBe(200);
    const jar = new CookieJar();
    const page = await completeConsent(link.body.loginLink as string, { login: 'alice', cookieJar: jar });
    expect(page.status).toBe(200);
    expect(page.body).toContain(alice.oid); // the requester named on the page: the person themself
    const confirmed = await submitForm(page.body, page.url, jar, { decision: 'confirm' });
    expect([confirmed.status, (await confirmed.text()).includes('is ready')]).toEqual([200, true]);
    expect((await tokenOf(host, SS, alice.id, '', alice.token)).status).toBe(200);
  });

  it('keeps everyone else out: person routes reach only their own, admin routes need the role', async () => {
    expect((await me('GET', mine(SS), alice.token)).body.properties.status).toBe('Connected');
    expect((await me('GET', mine(SS), bob.token)).body.name).toBe(bob.id);
    for (const [method, path] of [
      ['GET', `/providers/${SS}/connections/${alice.id}`],
      ['DELETE', `/providers/${SS}/connections/${alice.id}`],
      ['GET', `/providers/${SS}/connections`],
      ['POST', `/providers/${SS}/connections/${alice.id}/getLoginLinks`],
    ] as const) {
      const r = await host.request(method, path, { token: bob.token, ...(method === 'POST' ? { body: {} } : {}) });
      expect([path, r.status, r.body.error.code]).toEqual([path, 403, 'Forbidden']);
    }
    expect((await me('DELETE', mine(SS), bob.token)).status).toBe(200);
    expect((await me('DELETE', mine(SS), bob.token)).status).toBe(204);
    const gone = await me('GET', mine(SS), bob.token);
    expect([gone.status, gone.body.error.code]).toEqual([404, 'ConnectionNotFound']);
    expect((await host.request('GET', `/providers/${SS}/connections/${alice.id}`)).body.properties.status).toBe('Connected');
  });

  it("refuses an application's own token on every person route, creating nothing", async () => {
    const app = person();
    const token = await host.token({ oid: app.oid, scopes: null }); // client credentials: a service principal, not a person
    for (const [method, path] of [
      ['GET', 'providers'],
      ['GET', 'connections'],
      ['PUT', mine(SS)],
      ['POST', `${mine(SS)}/getLoginLinks`],
    ] as const) {
      const r = await me(method, path, token, method === 'GET' ? undefined : {});
      expect([method, path, r.status, r.body.error.code]).toEqual([method, path, 403, 'Forbidden']);
    }
    expect((await host.request('GET', `/providers/${SS}/connections/${app.id}`)).status).toBe(404);
  });

  it("answers 404 for an admin's connection at the person's id, and refuses to take it over", async () => {
    const carol = person();
    const token = await host.token({ oid: carol.oid });
    expect((await createConnection(host, SS, carol.id)).status).toBe(201);
    const get = await me('GET', mine(SS), token);
    expect([get.status, get.body.error.code]).toEqual([404, 'ConnectionNotFound']);
    const put = await me('PUT', mine(SS), token);
    expect([put.status, put.body.error.code]).toEqual([409, 'ConnectionIdTaken']);
    expect((await me('DELETE', mine(SS), token)).status).toBe(204);
    expect((await host.request('GET', `/providers/${SS}/connections/${carol.id}`)).status).toBe(200);
    expect((await me('POST', `${mine(SS)}/getLoginLinks`, token, {})).status).toBe(404);
  });

  it("keeps the owner through an admin's replace, and shows the provider's setting to admins", async () => {
    const put = await host.request('PUT', `/providers/${SS}/connections/${alice.id}`, {
      body: { properties: { displayName: 'Renamed by an admin', authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } },
    });
    expect(put.status).toBe(200);
    expect(put.body.properties).toMatchObject({ status: 'Connected', owner: { tenantId: DEV_TENANT_ID, objectId: alice.oid } });
    expect((await me('GET', mine(SS), alice.token)).body.properties.displayName).toBe('Renamed by an admin');
    expect((await host.request('GET', `/providers/${SS}`)).body.properties.selfService).toEqual({ enabled: true, appIds: [APP] });
  });

  it('refuses self-service on a provider that cannot consent, and appIds that are not GUIDs', async () => {
    const ccOnly = await createProvider(host, world, 'cc-only', 'cm-ss', { grants: ['clientCredentials'], selfService: { enabled: true } });
    expect([ccOnly.status, ccOnly.body.error.details[0]]).toEqual([400, expect.objectContaining({ code: 'MissingGrantType', target: 'properties.selfService' })]);
    const badApp = await createProvider(host, world, 'bad-app', 'cm-ss', { selfService: { enabled: true, appIds: ['not-a-guid'] } });
    expect([badApp.status, badApp.body.error.code]).toEqual([400, 'ValidationError']);
    expect((await host.request('GET', '/providers/cc-only')).status).toBe(404);
  });

  it('answers bad input in the error shape', async () => {
    const cases: [string, string, string, unknown, number, string][] = [
      ['PUT', mine(SS), alice.token, { properties: { displayName: 42 } }, 400, 'ValidationError'],
      ['PUT', mine(SS), alice.token, { owner: 'me' }, 400, 'ValidationError'],
      ['PUT', mine('bad%20id'), alice.token, undefined, 400, 'InvalidIdentifier'],
      ['POST', `${mine(SS)}/confirmConsentCode`, alice.token, {}, 400, 'ValidationError'],
      ['POST', `${mine(SS)}/getLoginLinks`, alice.token, { postLoginRedirectUrl: 'https://evil.example/x' }, 400, 'ValidationError'],
      ['GET', 'providers', 'not.a.token', undefined, 401, 'Unauthenticated'],
    ];
    for (const [method, path, token, body, status, code] of cases) {
      const r = await me(method, path, token, body);
      expect([path, r.status, r.body?.error?.code]).toEqual([path, status, code]);
      expect(isErrorShape(r.body)).toBe(true);
    }
  });
});

describe('self-service turned off afterwards', () => {
  it('keeps existing connections working, refuses new ones', async () => {
    expect((await createProvider(host, world, SS, 'cm-ss', { selfService: { enabled: false } })).status).toBe(200);
    expect((await tokenOf(host, SS, alice.id, '', alice.token)).status).toBe(200);
    expect((await me('GET', mine(SS), alice.token)).status).toBe(200);
    // Any PUT is refused, also of an existing connection: its policy is not rewritten without the provider's appIds.
    for (const p of [bob, alice]) {
      const refused = await me('PUT', mine(SS), p.token);
      expect([refused.status, refused.body.error.code]).toEqual([403, 'SelfServiceDisabled']);
    }
    expect((await me('POST', `${mine(SS)}/getLoginLinks`, alice.token, {})).status).toBe(200);
    expect((await me('GET', 'providers', alice.token)).body.value).toEqual([]);
    expect((await me('GET', 'connections', alice.token)).body.value.map((c: { name: string }) => c.name)).toEqual([alice.id]);
  });

  it('still lets the person delete theirs: connection and policy gone, no token', async () => {
    expect((await me('DELETE', mine(SS), alice.token)).status).toBe(200);
    expect((await host.request('GET', `/providers/${SS}/connections/${alice.id}`)).status).toBe(404);
    const policies = [];
    for await (const e of host.table('credmanAccessPolicies').listEntities()) if (String(e.partitionKey).includes(alice.id)) policies.push(e);
    expect(policies.filter((e) => !String(e.rowKey).startsWith('!'))).toEqual([]);
    expect((await tokenOf(host, SS, alice.id, '', alice.token)).status).toBe(403);
  });
});

describe('a provider row changed outside credman', () => {
  it('cannot switch self-service on: the create is refused as tampered, nothing is created', async () => {
    await host.table('credmanProviders').updateEntity({ partitionKey: 'providers', rowKey: PLAIN, selfService: JSON.stringify({ enabled: true }) }, 'Merge');
    const r = await me('PUT', mine(PLAIN), bob.token);
    expect([r.status, r.body.error.code]).toEqual([409, 'RecordTampered']);
    expect((await host.request('GET', `/providers/${PLAIN}/connections`)).body.value).toEqual([]);
  });
});

describe('the id of a non-Entra caller', () => {
  it('is a stable digest of issuer and subject that fits the identifier pattern', () => {
    const caller = (issuer: string, subject: string) => ({ issuer, subject, roles: [], groups: [] });
    const a = selfServiceConnectionId(caller('https://token.actions.githubusercontent.com', 'repo:o/r:ref:refs/heads/main'));
    expect(a).toMatch(/^p\.[0-9a-f]{40}$/);
    expect(IDENTIFIER_PATTERN.test(a)).toBe(true);
    expect(selfServiceConnectionId(caller('https://token.actions.githubusercontent.com', 'repo:o/r:ref:refs/heads/main'))).toBe(a);
    expect(selfServiceConnectionId(caller('https://token.actions.githubusercontent.com', 'repo:o/r:ref:refs/heads/dev'))).not.toBe(a);
    expect(selfServiceConnectionId({ ...caller('x', 'y'), tenantId: DEV_TENANT_ID, objectId: DEV_CLIENT_APP_ID.toUpperCase() })).toBe(`u.${DEV_CLIENT_APP_ID}`);
  });
});
