import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { CookieJar, completeConsent } from '../support/consentDriver';
import { localAppSettings } from '../support/appSettings';
import { startHost, type TestHost } from '../support/host';
import { createConnection, createProvider, registerClient, sleep, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Connect sessions (docs/api.md, "Connect sessions") on the local host with the real identity
// provider: an app holding only the connect role lets one of its users connect an account; nothing
// exists until the consent is confirmed; the link works once; the end user is on the connection,
// in its listing filter and in its webhook events.

let world: OAuthWorld;
let host: TestHost;
let receiver: Server;
const received: Array<{ type: string; data: { connectionId?: string; endUser?: unknown } }> = [];
const P = 'cs';
const APP_OID = '33333333-3333-4333-8333-333333333333';
const OTHER_APP_OID = '44444444-4444-4444-8444-444444444444';
const WORKLOAD_OID = '55555555-5555-4555-8555-555555555555';
const WORKLOAD_POLICY = { id: 'worker', properties: { tenantId: DEV_TENANT_ID, objectId: WORKLOAD_OID } };
const ALICE = { id: 'auth0|alice', displayName: 'Alice', email: 'alice@example.com' };
let appToken: string;
let done: string;

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 300 });
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  host = await startHost();
  await registerClient(world, [host], 'cm-connect');
  expect((await createProvider(host, world, P, 'cm-connect')).status).toBe(201);
  const sub = await host.request('PUT', '/webhooks/app', {
    body: { properties: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['connection.connected', 'connection.deleted'] } },
  });
  expect(sub.status).toBe(201);
  appToken = await host.token({ oid: APP_OID, roles: ['Credman.Connect'] });
  done = `${host.baseUrl}/done`;
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
  await new Promise((ok) => receiver?.close(ok));
});

const session = (connectionId: string, extra: Record<string, unknown> = {}) => ({
  providerId: P,
  connectionId,
  accessPolicies: [WORKLOAD_POLICY],
  endUser: ALICE,
  postLoginRedirectUrl: done,
  ...extra,
});

async function createSession(body: unknown, token = appToken) {
  return host.request('POST', '/connectSessions', { body, token });
}

/** Follows a connect link as the end user's browser, up to the app's redirect. */
async function follow(link: string, opts: { deny?: boolean; login?: string } = {}) {
  const end = await completeConsent(link, { login: opts.login ?? 'alice', cookieJar: new CookieJar(), ...(opts.deny ? { deny: true } : {}), stopWhen: (u) => u.toString().startsWith(done) });
  return end.url.searchParams;
}

const confirm = (connectionId: string, consentCode: string | null, token = appToken) =>
  host.request('POST', `/providers/${P}/connections/${connectionId}/confirmConsentCode`, { body: { consentCode }, token });

async function until<T>(probe: () => T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (ok(v) || Date.now() > end) return v;
    await sleep(200);
  }
}

/** Connection and policy rows naming the connection (tables are created on their first write). */
async function rows(connectionId: string): Promise<number> {
  let n = 0;
  for (const t of ['credmanConnections', 'credmanAccessPolicies']) {
    try {
      for await (const e of host.table(t).listEntities()) if (JSON.stringify(e).includes(connectionId)) n++;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
  }
  return n;
}

it('an app with only the connect role connects its user: nothing before consent, the link works once, then the connection has its end user and policies, a policy caller gets a token, the webhook names the end user', async () => {
  const created = await createSession(session('alice-gh'));
  expect(created.status).toBe(200);
  const { connectLink, expiresOn } = created.body as { connectLink: string; expiresOn: string };
  expect(connectLink).toMatch(new RegExp(`^${host.baseUrl}/api/consent/start\\?state=`));
  const ttl = Date.parse(expiresOn) - Date.now();
  expect(ttl).toBeGreaterThan(9 * 60_000);
  expect(ttl).toBeLessThanOrEqual(10 * 60_000);

  // Issued, not followed: no connection, no policy.
  expect((await host.request('GET', `/providers/${P}/connections/alice-gh`)).status).toBe(404);
  expect(await rows('alice-gh')).toBe(0);

  const q = await follow(connectLink);
  expect(q.get('status')).toBe('confirmationRequired');
  // Consented, not confirmed: still nothing.
  expect(await rows('alice-gh')).toBe(0);

  // The link works once.
  const again = await fetch(connectLink, { redirect: 'manual' });
  expect(again.status).toBe(400);
  expect(await again.text()).toContain('LoginLinkUsed');

  const confirmed = await confirm('alice-gh', q.get('consentCode'));
  expect(confirmed.status).toBe(200);
  expect(confirmed.body.properties).toMatchObject({ status: 'Connected', oauth2grantType: 'AuthorizationCode', endUser: ALICE });

  const policies = await host.request('GET', `/providers/${P}/connections/alice-gh/accessPolicies`);
  // Exactly the session's policy and credman's own (every new connection has it): nothing else.
  expect(policies.body.value.map((p: { name: string }) => p.name).sort()).toEqual([localAppSettings('', '').CREDMAN_APP_OBJECT_ID, 'worker'].sort());
  const worker = await tokenOf(host, P, 'alice-gh', '', await host.token({ oid: WORKLOAD_OID }));
  expect(worker.status).toBe(200);
  expect(worker.body.accessToken).toEqual(expect.any(String));
  // The app itself is no policy of the connection: the connect role gives no tokens.
  expect((await tokenOf(host, P, 'alice-gh', '', appToken)).status).toBe(403);

  const event = await until(
    () => received.find((r) => r.type === 'connection.connected' && r.data.connectionId === 'alice-gh'),
    (e) => e !== undefined,
    15_000,
  );
  expect(event?.data).toMatchObject({ providerId: P, connectionId: 'alice-gh', status: 'Connected', endUser: ALICE });

  // Deleted: connection.deleted still names the end user.
  expect((await host.request('DELETE', `/providers/${P}/connections/alice-gh`)).status).toBe(200);
  const gone = await until(
    () => received.find((r) => r.type === 'connection.deleted' && r.data.connectionId === 'alice-gh'),
    (e) => e !== undefined,
    15_000,
  );
  expect(gone?.data).toMatchObject({ connectionId: 'alice-gh', endUser: ALICE });
});

it('refuses callers without the admin or connect role (403) and keeps the connect role off admin routes', async () => {
  for (const token of [await host.token({ oid: APP_OID }), await host.token({ oid: APP_OID, roles: ['Credman.Reader'] })]) {
    const r = await createSession(session('nobody'), token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('Forbidden');
    expect((await confirm('nobody', 'x', token)).status).toBe(403);
  }
  expect((await createSession(session('nobody'), '')).status).toBe(401);
  expect((await host.request('GET', `/providers/${P}/connections`, { token: appToken })).status).toBe(403);
  expect((await host.request('POST', `/providers/${P}/connections/x/getLoginLinks`, { token: appToken, body: {} })).status).toBe(403);
  // Admins may create sessions too.
  expect((await createSession(session('by-admin'), host.adminToken)).status).toBe(200);
});

it('validates the session: identifiers, an existing provider, access policies (schema, trusted issuer, at most 10), the end user, the redirect', async () => {
  const cases: Array<[string, unknown, number, string]> = [
    ['no provider', session('v1', { providerId: 'nope' }), 404, 'ProviderNotFound'],
    ['bad connection id', session('bad id!'), 400, 'ValidationError'],
    ["a person's self-service id (u.)", session('u.11111111-1111-4111-8111-111111111111'), 400, 'ValidationError'],
    ["a person's self-service id (P.)", session('P.0123456789abcdef'), 400, 'ValidationError'],
    ['bad provider id', session('v1', { providerId: '../x' }), 400, 'ValidationError'],
    ['no policies', session('v1', { accessPolicies: [] }), 400, 'ValidationError'],
    ['11 policies', session('v1', { accessPolicies: Array.from({ length: 11 }, (_, i) => ({ ...WORKLOAD_POLICY, id: `p${i}` })) }), 400, 'ValidationError'],
    ['duplicate policy ids', session('v1', { accessPolicies: [WORKLOAD_POLICY, WORKLOAD_POLICY] }), 400, 'ValidationError'],
    ['bad policy id', session('v1', { accessPolicies: [{ ...WORKLOAD_POLICY, id: 'a b' }] }), 400, 'ValidationError'],
    ['bad policy body', session('v1', { accessPolicies: [{ id: 'x', properties: { objectId: 'not-a-guid' } }] }), 400, 'ValidationError'],
    ['untrusted issuer', session('v1', { accessPolicies: [{ id: 'x', properties: { issuer: 'https://evil.example', subject: 's' } }] }), 400, 'ValidationError'],
    ['no end user', session('v1', { endUser: undefined }), 400, 'ValidationError'],
    ['bad end user id', session('v1', { endUser: { id: "a' or 1 eq 1" } }), 400, 'ValidationError'],
    ['unknown end user field', session('v1', { endUser: { id: 'u', role: 'admin' } }), 400, 'ValidationError'],
    ['no redirect', session('v1', { postLoginRedirectUrl: undefined }), 400, 'ValidationError'],
    ['foreign redirect', session('v1', { postLoginRedirectUrl: 'https://evil.example/done' }), 400, 'ValidationError'],
  ];
  for (const [name, body, status, code] of cases) {
    const r = await createSession(body);
    expect({ name, status: r.status, code: r.body?.error?.code }).toEqual({ name, status, code });
  }
  expect(await rows('v1')).toBe(0);
});

it("a refused sign-in creates nothing; a session reconnects only its own end user's connection", async () => {
  const denied = await follow((await createSession(session('denied'))).body.connectLink, { deny: true });
  expect(denied.get('status')).toBe('error');
  expect(denied.get('code')).toBe('ConsentDenied');
  expect(await rows('denied')).toBe(0);

  // Connected once through a session, then reconnected by a second one for the same end user.
  for (let i = 0; i < 2; i++) {
    const q = await follow((await createSession(session('bob-gh', { endUser: { id: 'bob' } }))).body.connectLink, { login: 'bob' });
    expect((await confirm('bob-gh', q.get('consentCode'))).status).toBe(200);
  }
  // Another end user, or an admin's connection: 403, nothing issued.
  expect((await createSession(session('bob-gh', { endUser: { id: 'mallory' } }))).status).toBe(403);
  expect((await createConnection(host, P, 'admins')).status).toBe(201);
  expect((await createSession(session('admins'))).status).toBe(403);
});

it('a connect-role caller confirms only the codes of sessions it created; admins confirm any app-confirmed code', async () => {
  // An admin's login link with a redirect: its code is not a connect session's.
  const link = await host.request('POST', `/providers/${P}/connections/admins/getLoginLinks`, { body: { postLoginRedirectUrl: done } });
  const adminCode = (await follow(link.body.loginLink)).get('consentCode');
  const refused = await confirm('admins', adminCode, appToken);
  expect(refused.status).toBe(400);
  expect(refused.body.error.details[0].code).toBe('InvalidConsentCode');

  // Another connect app cannot confirm this app's session.
  const q = await follow((await createSession(session('carol-gh', { endUser: { id: 'carol' } }))).body.connectLink);
  const other = await host.token({ oid: OTHER_APP_OID, roles: ['Credman.Connect'] });
  expect((await confirm('carol-gh', q.get('consentCode'), other)).status).toBe(400);
  expect(await rows('carol-gh')).toBe(0);
  // Its code was not spent by the refusals (they read, never take): the admin confirms both.
  expect((await confirm('carol-gh', q.get('consentCode'), host.adminToken)).status).toBe(200);
  expect((await confirm('admins', adminCode, host.adminToken)).status).toBe(200);
});

it("refuses another app's session for an end user it named the same: end user ids are each app's own (no takeover, no policies added)", async () => {
  // carol-gh was created by this app's session for its end user `carol` (above).
  const other = await host.token({ oid: OTHER_APP_OID, roles: ['Credman.Connect'] });
  const policiesBefore = await host.request('GET', `/providers/${P}/connections/carol-gh/accessPolicies`);
  const refused = await createSession(session('carol-gh', { endUser: { id: 'carol' } }), other);
  expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 403, code: 'Forbidden' });
  expect((await host.request('GET', `/providers/${P}/connections/carol-gh/accessPolicies`)).body).toEqual(policiesBefore.body);
  // The app that made it still may (a reconnect).
  expect((await createSession(session('carol-gh', { endUser: { id: 'carol' } }))).status).toBe(200);
});

it("lists an end user's connections with $filter=endUser/id eq '…' and refuses any other filter (400)", async () => {
  const list = (filter: string) => host.request('GET', `/providers/${P}/connections?$filter=${encodeURIComponent(filter)}`);
  const bob = await list("endUser/id eq 'bob'");
  expect(bob.status).toBe(200);
  expect(bob.body.value.map((c: { name: string }) => c.name)).toEqual(['bob-gh']);
  expect((await list("endUser/id eq 'carol'")).body.value.map((c: { name: string }) => c.name)).toEqual(['carol-gh']);
  expect((await list("endUser/id eq 'nobody'")).body.value).toEqual([]);
  // Paged with the filter kept.
  const paged = await host.request('GET', `/providers/${P}/connections?$top=1&$filter=${encodeURIComponent("endUser/id eq 'bob'")}`);
  expect(paged.body.value).toHaveLength(1);

  for (const bad of ["endUser/id eq 'bob' or 1 eq 1", "endUser/id eq 'bo'b'", "endUser/id ne 'bob'", "status eq 'Connected'", "endUser/id eq ''", 'endUser/id eq bob', "EndUser/id eq 'bob'", '']) {
    const r = await list(bad);
    expect({ bad, status: r.status, code: r.body?.error?.code, target: r.body?.error?.details?.[0]?.target }).toEqual({ bad, status: 400, code: 'ValidationError', target: '$filter' });
  }
  // The unfiltered list is unchanged.
  expect((await host.request('GET', `/providers/${P}/connections`)).body.value.length).toBeGreaterThanOrEqual(3);
});

it('deleting the provider sends connection.deleted with the end user of each connect-session connection', async () => {
  expect((await host.request('DELETE', `/providers/${P}`)).status).toBe(200);
  const gone = await until(
    () => received.find((r) => r.type === 'connection.deleted' && r.data.connectionId === 'bob-gh'),
    (e) => e !== undefined,
    15_000,
  );
  expect(gone?.data).toMatchObject({ providerId: P, connectionId: 'bob-gh', endUser: { id: 'bob' } });
  const admins = await until(
    () => received.find((r) => r.type === 'connection.deleted' && r.data.connectionId === 'admins'),
    (e) => e !== undefined,
    15_000,
  );
  expect(admins?.data).toMatchObject({ connectionId: 'admins' });
  expect(admins?.data.endUser).toBeUndefined();
});
