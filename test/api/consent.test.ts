import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import { CookieJar, completeConsent, parseForms, submitForm } from '../support/consentDriver';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, loginLink, registerClient, sleep, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Consent end to end: credman's local host, oidc-provider as the identity provider (its real
// login and consent pages, driven over HTTP), tokens that live 4 s so refreshes happen in a test.
// A second instance on the same storage (and key) races the first for a login link.

let world: OAuthWorld;
let azurite: EmbeddedAzurite;
let host: TestHost;
let other: TestHost;
let app: string;
const P = 'idp';

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 4 });
  azurite = await startAzurite();
  const kek = join(mkdtempSync(join(tmpdir(), 'credman-kek-')), 'kek.json');
  [host, other] = await Promise.all([0, 1].map(() => startHost({ CREDMAN_LOCAL_KEK_FILE: kek, CREDMAN_IDP_TIMEOUT_SECONDS: '2', CREDMAN_IDP_RETRIES: '1', CREDMAN_LOCAL_DURABLE: 'false' }, azurite)));
  await registerClient(world, [host, other], 'cm-basic', 'client_secret_basic');
  expect((await createProvider(host, world, P, 'cm-basic')).status).toBe(201);
  app = await host.token({ oid: DEV_APP_OBJECT_ID });
}, 60_000);

afterAll(async () => {
  await Promise.all([host?.stop(), other?.stop()]);
  await azurite?.stop();
  await world?.stop();
});

const connection = async (id: string, provider = P) => (await host.request('GET', `/providers/${provider}/connections/${id}`)).body.properties;
const query = (url: URL) => Object.fromEntries(url.searchParams);

describe('consent, token, refresh, revocation, consent again', () => {
  it('runs the whole life of an authorization-code connection', async () => {
    expect((await createConnection(host, P, 'alice')).status).toBe(201);
    expect((await tokenOf(host, P, 'alice', '', app)).body.error.code).toBe('ConnectionNotConnected');

    const done = await consent(host, P, 'alice');
    expect(done.status).toBe('success');
    const connected = await connection('alice');
    expect(connected.status).toBe('Connected');
    expect(connected.error).toBeUndefined();

    const first = await tokenOf(host, P, 'alice', '', app);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({ tokenType: 'Bearer', accessToken: expect.any(String), expiresOn: expect.any(String) });
    expect(Object.keys(first.body.claims)).not.toEqual(expect.arrayContaining(['access_token']));
    for (const secret of ['access_token', 'refresh_token', 'id_token']) expect(first.body.claims[secret]).toBeUndefined();
    expect(JSON.stringify(first.body)).not.toMatch(/refresh/i);

    // Served from memory for the first half of its 4 s life: no call to the identity provider.
    await world.idp.resetStats();
    expect((await tokenOf(host, P, 'alice', '', app)).body.accessToken).toBe(first.body.accessToken);
    expect((await world.idp.stats()).token.refresh_token).toBe(0);

    await sleep(2200);
    const refreshed = await tokenOf(host, P, 'alice', '', app);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.accessToken).not.toBe(first.body.accessToken);
    expect((await world.idp.stats()).tokenSuccess.refresh_token).toBe(1);

    // The person (or an admin at the provider) revokes the grant: the next refresh is refused.
    await world.idp.revokeAll();
    await sleep(2200);
    const refused = await tokenOf(host, P, 'alice', '', app);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('ReauthorizationRequired');
    expect(await connection('alice')).toMatchObject({ status: 'Error', error: { code: 'ReauthorizationRequired' } });
    // Said once, remembered: no further identity-provider calls while it waits for consent.
    await world.idp.resetStats();
    expect((await tokenOf(host, P, 'alice', '', app)).body.error.code).toBe('ReauthorizationRequired');
    expect((await world.idp.stats()).token.refresh_token).toBe(0);

    // Consent again, this time confirmed by the person on the page.
    expect((await consent(host, P, 'alice', { confirm: 'page' })).status).toBe('success');
    expect((await connection('alice')).status).toBe('Connected');
    const again = await tokenOf(host, P, 'alice', '', app);
    expect(again.status).toBe(200);
    expect(again.body.accessToken).not.toBe(refreshed.body.accessToken);
  }, 60_000);

  it('records a refusal at the identity provider as ConsentDenied and says so on the redirect', async () => {
    await createConnection(host, P, 'bob');
    const done = await consent(host, P, 'bob', { deny: true });
    expect(query(done.end.url)).toEqual({ status: 'error', code: 'ConsentDenied' });
    expect(await connection('bob')).toMatchObject({ status: 'Error', error: { code: 'ConsentDenied' } });
  }, 30_000);

  it('ends on the confirmation page when the link has no redirect URL, and connects once the person confirms there', async () => {
    await createConnection(host, P, 'page');
    const jar = new CookieJar();
    const end = await completeConsent(await loginLink(host, P, 'page'), { cookieJar: jar });
    expect(end.status).toBe(200);
    expect(end.headers['content-type']).toMatch(/text\/html/);
    expect(end.headers['x-frame-options']).toBe('DENY');
    expect(end.headers['x-content-type-options']).toBe('nosniff');
    expect(end.body).toContain('Confirm this connection');
    expect((await connection('page')).status).toBe('Pending');
    const confirmed = await submitForm(end.body, end.url, jar, { decision: 'confirm' });
    expect(confirmed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await confirmed.text()).toContain('is ready');
    expect((await connection('page')).status).toBe('Connected');
  }, 30_000);
});

describe('consent that brings no refresh token', () => {
  it('serves the token while it lasts, then marks the connection ReauthorizationRequired', async () => {
    await world.idp.addClient({
      client_id: 'cm-norefresh',
      client_secret: world.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [`${host.baseUrl}/api/consent/callback`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      scope: 'openid api',
    });
    const params = {
      clientId: 'cm-norefresh',
      clientSecret: world.clientSecret,
      authorizationUrl: `${world.idp.url}/auth`,
      tokenUrl: `${world.proxy.url}/token`,
      scopes: 'openid api',
      clientAuthentication: 'basic',
    };
    const put = await host.request('PUT', '/providers/norefresh', { body: { properties: { identityProvider: 'oauth2', oauth2: { grantTypes: { authorizationCode: params } } } } });
    expect(put.status).toBe(201);
    expect((await createConnection(host, 'norefresh', 'bob')).status).toBe(201);
    expect((await consent(host, 'norefresh', 'bob')).status).toBe('success');
    expect((await tokenOf(host, 'norefresh', 'bob', '', app)).status).toBe(200);

    await sleep(4_200); // the 4 s access token has ended, and nothing can renew it
    const after = await tokenOf(host, 'norefresh', 'bob', '', app);
    expect(after.status).toBe(409);
    expect(after.body.error.code).toBe('ReauthorizationRequired');
    const c = await connection('bob', 'norefresh');
    expect(c.status).toBe('Error');
    expect(c.error.code).toBe('ReauthorizationRequired');
  });
});

describe('client credentials, end to end', () => {
  it('fetches on create, refetches when due, reports a revoked secret and recovers when it is replaced', async () => {
    await registerClient(world, [host], 'cm-cc');
    expect((await createProvider(host, world, 'cc', 'cm-cc', { grants: ['clientCredentials'] })).status).toBe(201);
    const created = await createConnection(host, 'cc', 'daemon', 'ClientCredentials');
    expect(created.body.properties.status).toBe('Connected');
    const first = await tokenOf(host, 'cc', 'daemon', '', app);
    expect(first.status).toBe(200);

    await sleep(2200);
    const second = await tokenOf(host, 'cc', 'daemon', '', app);
    expect(second.body.accessToken).not.toBe(first.body.accessToken);

    // The client secret is rotated at the identity provider: the next fetch is refused.
    const rotated = `${world.clientSecret}-rotated`;
    await world.idp.addClient({
      client_id: 'cm-cc',
      client_secret: rotated,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [`${host.baseUrl}/api/consent/callback`],
      grant_types: ['client_credentials'],
      response_types: [],
    });
    await sleep(2200);
    const refused = await tokenOf(host, 'cc', 'daemon', '', app);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('ClientSecretInvalid');
    expect(await connection('daemon', 'cc')).toMatchObject({ status: 'Error', error: { code: 'ClientSecretInvalid' } });

    const fixed = await host.request('PUT', '/providers/cc/connections/daemon', {
      body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials', parameters: { clientSecret: rotated } } },
    });
    expect(fixed.body.properties.status).toBe('Connected');
    expect((await tokenOf(host, 'cc', 'daemon', '', app)).status).toBe(200);
  }, 30_000);
});

describe('a refused client secret, authorization code', () => {
  it('recovers without new consent once the provider has the new secret and the connection is PUT again', async () => {
    await registerClient(world, [host], 'cm-rot');
    expect((await createProvider(host, world, 'rot', 'cm-rot')).status).toBe(201);
    expect((await createConnection(host, 'rot', 'carol')).status).toBe(201);
    expect((await consent(host, 'rot', 'carol')).status).toBe('success');
    const first = await tokenOf(host, 'rot', 'carol', '', app);
    expect(first.status).toBe(200);

    const rotated = `${world.clientSecret}-rotated`;
    await world.idp.addClient({
      client_id: 'cm-rot',
      client_secret: rotated,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [`${host.baseUrl}/api/consent/callback`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline_access api',
    });
    await sleep(4_200);
    const refused = await tokenOf(host, 'rot', 'carol', '', app);
    expect(refused.body.error.code).toBe('ClientSecretInvalid');
    expect(await connection('carol', 'rot')).toMatchObject({ status: 'Error', error: { code: 'ClientSecretInvalid' } });

    const provider = (await host.request('GET', '/providers/rot')).body.properties.oauth2.grantTypes.authorizationCode;
    const fixed = await host.request('PUT', '/providers/rot', {
      body: { properties: { identityProvider: 'oauth2', oauth2: { grantTypes: { authorizationCode: { ...provider, clientSecret: rotated } } } } },
    });
    expect(fixed.status).toBe(200);
    const again = await createConnection(host, 'rot', 'carol');
    expect(again.status).toBe(200);
    expect(again.body.properties.status).toBe('Connected');
    const after = await tokenOf(host, 'rot', 'carol', '', app);
    expect(after.status).toBe(200);
    expect(after.body.accessToken).not.toBe(first.body.accessToken);
  }, 30_000);
});

describe('attacks on the consent flow are refused', () => {
  const atCallback = (u: URL) => u.pathname === '/api/consent/callback';

  it('a state is single-use', async () => {
    await createConnection(host, P, 'replay');
    const jar = new CookieJar();
    const link = await loginLink(host, P, 'replay', `${host.baseUrl}/done`);
    const cb = await completeConsent(link, { cookieJar: jar, stopWhen: atCallback });
    const headers = { cookie: jar.header(cb.url) ?? '' };
    const ok = await fetch(cb.url, { redirect: 'manual', headers });
    expect(ok.status).toBe(302);
    expect(new URL(ok.headers.get('location') as string).searchParams.get('status')).toBe('confirmationRequired');
    const again = await fetch(cb.url, { redirect: 'manual', headers });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('not valid');
  }, 30_000);

  it('a state credman never issued, or none, is refused before anything happens', async () => {
    for (const q of ['state=forged&code=abc', 'code=abc', 'state=&error=access_denied']) {
      const r = await fetch(`${host.apiUrl}/consent/callback?${q}`, { redirect: 'manual' });
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/text\/html/);
    }
    expect((await fetch(`${host.apiUrl}/consent/start?state=forged`, { redirect: 'manual' })).status).toBe(400);
  });

  it("a code from one connection's flow cannot complete another's (PKCE binds the code to its flow)", async () => {
    await createConnection(host, P, 'victim');
    await createConnection(host, P, 'attacker');
    const jar = new CookieJar();
    const cb = await completeConsent(await loginLink(host, P, 'victim', `${host.baseUrl}/done`), { cookieJar: jar, stopWhen: atCallback });
    // The attacker's own sign-in, under way in the same browser: its state and binding cookie are genuine.
    const atIdp = await completeConsent(await loginLink(host, P, 'attacker', `${host.baseUrl}/done`), { cookieJar: jar, stopWhen: (u) => u.pathname === '/auth' });
    const otherState = atIdp.url.searchParams.get('state') as string;
    const forged = new URL(cb.url);
    forged.searchParams.set('state', otherState);
    const r = await fetch(forged, { redirect: 'manual', headers: { cookie: jar.header(forged) ?? '' } });
    expect(r.status).toBe(302);
    expect(query(new URL(r.headers.get('location') as string))).toEqual({ status: 'error', code: 'IdentityProviderError' });
    expect((await connection('attacker')).status).toBe('Pending');
    expect((await connection('victim')).status).toBe('Pending');
  }, 30_000);

  it('a response naming another issuer (mix-up, RFC 9207) is refused', async () => {
    await createConnection(host, P, 'mixup');
    const jar = new CookieJar();
    const cb = await completeConsent(await loginLink(host, P, 'mixup', `${host.baseUrl}/done`), { cookieJar: jar, stopWhen: atCallback });
    expect(cb.url.searchParams.get('iss')).toBe(world.idp.issuer);
    const forged = new URL(cb.url);
    forged.searchParams.set('iss', 'https://evil.example');
    const r = await fetch(forged, { redirect: 'manual', headers: { cookie: jar.header(forged) ?? '' } });
    expect(query(new URL(r.headers.get('location') as string))).toEqual({ status: 'error', code: 'IssuerMismatch' });
    expect((await connection('mixup')).status).toBe('Pending');
  }, 30_000);

  it('login links only return to allowed origins (no open redirect)', async () => {
    await createConnection(host, P, 'redir');
    for (const url of ['https://evil.example/done', 'javascript:alert(1)', '//evil.example', `http://user:pw@${new URL(host.baseUrl).host}/x`]) {
      const r = await host.request('POST', `/providers/${P}/connections/redir/getLoginLinks`, { body: { postLoginRedirectUrl: url } });
      expect(r.status).toBe(400);
      expect(r.body.error.details[0]).toMatchObject({ code: 'RedirectNotAllowed', target: 'postLoginRedirectUrl' });
    }
    const unknownField = await host.request('POST', `/providers/${P}/connections/redir/getLoginLinks`, { body: { redirect: 'x' } });
    expect(unknownField.status).toBe(400);
  });

  it('cancel on the anti-phishing page connects nothing', async () => {
    await createConnection(host, P, 'cancelled');
    const jar = new CookieJar();
    const page = await completeConsent(await loginLink(host, P, 'cancelled'), { cookieJar: jar });
    const r = await submitForm(page.body, page.url, jar, { decision: 'cancel' });
    expect(await r.text()).toContain('ConsentNotConfirmed');
    expect((await connection('cancelled')).status).toBe('Pending');
    // The held tokens are gone: confirming afterwards is refused.
    expect((await submitForm(page.body, page.url, jar, { decision: 'confirm' })).status).toBe(400);
    expect((await connection('cancelled')).status).toBe('Pending');
  }, 30_000);
});

// Issue 16, finding 1: consent phishing through the login link itself. Each test reproduces an
// attack that succeeded before the login link was consumed on first follow and every consent
// waited for a confirmation.
describe('consent phishing through the login link is refused', () => {
  const atIdp = (u: URL) => u.pathname === '/auth';
  const phisherToken = async () => {
    const claims = decodeJwt(host.adminToken);
    return host.issuer.signClaims({ ...claims, name: 'Mallory <script>alert(1)</script>', preferred_username: 'mallory@phish.example' });
  };

  it("the victim who follows a phisher's unfollowed link lands on a page naming connection, provider, account and requester; nothing connects until they confirm", async () => {
    await createConnection(host, P, 'phished');
    const link = (await host.request('POST', `/providers/${P}/connections/phished/getLoginLinks`, { body: {}, token: await phisherToken() })).body.loginLink as string;
    // The phisher forwards the link unfollowed; the victim opens it and signs in.
    const victim = new CookieJar();
    const page = await completeConsent(link, { cookieJar: victim, login: 'victim<b>' });
    expect(page.status).toBe(200);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body).toContain('Confirm this connection');
    expect((await connection('phished')).status).toBe('Pending');
    const text = page.body.replace(/<[^>]+>/g, '');
    expect(text).toContain('phished'); // the connection
    expect(text).toContain(`Provider${P}`); // the provider (its display name is its id here)
    expect(page.body).toContain('Subject: <strong>victim&lt;b&gt;</strong>'); // the account, from the id_token, escaped
    expect(page.body).toContain('Mallory &lt;script&gt;alert(1)&lt;/script&gt; (mallory@phish.example)'); // the requester, escaped
    expect(page.body).not.toContain('<script>');
    expect(page.body).not.toContain('victim<b>');
    // Only the person's own decision connects.
    const confirmed = await submitForm(page.body, page.url, victim, { decision: 'confirm' });
    expect(await confirmed.text()).toContain('is ready');
    expect((await connection('phished')).status).toBe('Connected');
    // The confirmation is single-use too.
    expect((await submitForm(page.body, page.url, victim, { decision: 'confirm' })).status).toBe(400);
  }, 30_000);

  it('binds the sign-in with a cookie as the streaming worker writes it (the cookie package, replacing any Set-Cookie header)', async () => {
    await createConnection(host, P, 'cookieShape');
    const followed = await fetch(await loginLink(host, P, 'cookieShape'), { redirect: 'manual' });
    expect(followed.status).toBe(302);
    expect(followed.headers.getSetCookie()).toEqual([expect.stringMatching(/^credman_consent_[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/api\/consent; HttpOnly; SameSite=Lax$/)]);
  });

  it('a second follower of a followed link gets LoginLinkUsed and changes nothing; the first sign-in still completes', async () => {
    await createConnection(host, P, 'owned');
    const link = await loginLink(host, P, 'owned');
    const owner = new CookieJar();
    const first = await completeConsent(link, { cookieJar: owner, stopWhen: atIdp });
    // Someone else holding the link follows it while the owner is at the identity provider.
    const second = await fetch(link, { redirect: 'manual' });
    expect(second.status).toBe(400);
    expect(second.headers.get('content-type')).toMatch(/text\/html/);
    expect(second.headers.get('x-content-type-options')).toBe('nosniff');
    expect(second.headers.getSetCookie()).toEqual([]);
    expect(await second.text()).toContain('LoginLinkUsed');
    // The owner's browser following it again is refused too: the link is spent, not re-bound.
    expect((await fetch(link, { redirect: 'manual', headers: { cookie: owner.header(new URL(link)) ?? '' } })).status).toBe(400);
    const page = await completeConsent(first.url.toString(), { cookieJar: owner, login: 'owner' });
    expect(page.body).toContain('Subject: <strong>owner</strong>');
    expect(await (await submitForm(page.body, page.url, owner, { decision: 'confirm' })).text()).toContain('is ready');
    expect((await connection('owned')).status).toBe('Connected');
  }, 30_000);

  it('exactly one of many concurrent follows, over two instances, wins a login link', async () => {
    await createConnection(host, P, 'raced');
    const link = new URL(await loginLink(host, P, 'raced'));
    const onOther = new URL(`${link.pathname}${link.search}`, other.baseUrl);
    const follows = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(i % 2 ? onOther : link, { redirect: 'manual' })));
    const statuses = follows.map((r) => r.status).sort();
    expect(statuses).toEqual([302, ...Array(19).fill(400)]);
    for (const r of follows.filter((f) => f.status === 400)) expect(await r.text()).toContain('LoginLinkUsed');
  }, 30_000);

  it('with a postLoginRedirectUrl the redirect carries status=confirmationRequired&consentCode, and only confirmConsentCode connects', async () => {
    await createConnection(host, P, 'app');
    await createConnection(host, P, 'other');
    const end = await completeConsent(await loginLink(host, P, 'app', `${host.baseUrl}/done`), {
      cookieJar: new CookieJar(),
      stopWhen: (u) => u.pathname === '/done',
    });
    expect([...end.url.searchParams.keys()].sort()).toEqual(['consentCode', 'status']);
    expect(end.url.searchParams.get('status')).toBe('confirmationRequired');
    const consentCode = end.url.searchParams.get('consentCode') as string;
    expect((await connection('app')).status).toBe('Pending');
    const confirm = (c: string, code: string) => host.request('POST', `/providers/${P}/connections/${c}/confirmConsentCode`, { body: { consentCode: code } });
    expect((await confirm('app', 'wrong')).body.error.details[0].code).toBe('InvalidConsentCode');
    expect((await confirm('other', consentCode)).status).toBe(400);
    expect((await host.request('POST', `/providers/${P}/connections/app/confirmConsentCode`, { body: { consentCode }, token: app })).status).toBe(403);
    // A redirect's consent code is for the app: the browser cannot confirm it on the page route.
    const viaPage = await fetch(`${host.apiUrl}/consent/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ consentCode, decision: 'confirm' }).toString(),
    });
    expect(viaPage.status).toBe(403);
    expect((await connection('app')).status).toBe('Pending');
    const ok = await confirm('app', consentCode);
    expect(ok.status).toBe(200);
    expect(ok.body.properties.status).toBe('Connected');
    expect((await confirm('app', consentCode)).status).toBe(400);
  }, 30_000);

  it('a confirmation from another browser (without the binding cookie) is refused and takes nothing', async () => {
    await createConnection(host, P, 'confirmer');
    const person = new CookieJar();
    const page = await completeConsent(await loginLink(host, P, 'confirmer'), { cookieJar: person });
    const form = parseForms(page.body, page.url)[0];
    // The consent code leaked to someone else (a shared screen, a proxy log): their confirm is refused…
    const stranger = await submitForm(page.body, page.url, new CookieJar(), { decision: 'confirm' }, form);
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toContain('BrowserMismatch');
    // …as is one with a forged cookie of the right name.
    const name = person.header(form.action)?.match(/(credman_confirm_\w+)=/)?.[1] as string;
    const forged = new CookieJar();
    forged.store(form.action, [`${name}=forged; Path=/api/consent`]);
    expect((await submitForm(page.body, page.url, forged, { decision: 'cancel' }, form)).status).toBe(403);
    // …as is the phisher, an admin who asked for the link, confirming the leaked code through the API.
    const leaked = form.fields.consentCode;
    expect(leaked).toBeTruthy();
    const viaApi = await host.request('POST', `/providers/${P}/connections/confirmer/confirmConsentCode`, { body: { consentCode: leaked } });
    expect(viaApi.status).toBe(400);
    expect(viaApi.body.error.details[0].code).toBe('InvalidConsentCode');
    expect((await connection('confirmer')).status).toBe('Pending');
    // The person's own browser still can.
    expect(await (await submitForm(page.body, page.url, person, { decision: 'confirm' }, form)).text()).toContain('is ready');
    expect((await connection('confirmer')).status).toBe('Connected');
  }, 30_000);

  it('a consent held for confirmation does not land in a connection deleted and created again under the same id meanwhile', async () => {
    await createConnection(host, P, 'reused');
    const person = new CookieJar();
    const page = await completeConsent(await loginLink(host, P, 'reused'), { cookieJar: person, login: 'first-owner' });
    expect(page.body).toContain('Confirm this connection');
    // While the page waits, the connection is deleted and created again (for someone else), through the other instance.
    expect((await other.request('DELETE', `/providers/${P}/connections/reused`)).status).toBe(200);
    expect((await createConnection(other, P, 'reused')).status).toBe(201);
    const confirmed = await submitForm(page.body, page.url, person, { decision: 'confirm' });
    expect(confirmed.status).toBe(404);
    expect(await confirmed.text()).not.toContain('is ready');
    expect((await connection('reused')).status).toBe('Pending');
    // The same through an app's confirmConsentCode.
    const end = await completeConsent(await loginLink(host, P, 'reused', `${host.baseUrl}/done`), { cookieJar: new CookieJar(), stopWhen: (u) => u.pathname === '/done' });
    const consentCode = end.url.searchParams.get('consentCode') as string;
    expect((await host.request('DELETE', `/providers/${P}/connections/reused`)).status).toBe(200);
    expect((await createConnection(host, P, 'reused')).status).toBe(201);
    const viaApp = await host.request('POST', `/providers/${P}/connections/reused/confirmConsentCode`, { body: { consentCode } });
    expect(viaApp.status).toBe(404);
    expect((await connection('reused')).status).toBe('Pending');
  }, 30_000);

  it('a sign-in forwarded mid-flight comes back to a browser without the binding cookie: refused, and its code is never redeemed', async () => {
    await createConnection(host, P, 'forwarded');
    // The phisher follows the link, then sends the identity provider's URL to the victim.
    const started = await fetch(await loginLink(host, P, 'forwarded'), { redirect: 'manual' });
    expect(started.status).toBe(302);
    await world.idp.resetStats();
    const victim = new CookieJar();
    const end = await completeConsent(started.headers.get('location') as string, { cookieJar: victim, login: 'victim' });
    expect(end.status).toBe(400);
    expect(end.body).toContain('BrowserMismatch');
    expect(parseForms(end.body, end.url)).toEqual([]);
    expect((await world.idp.stats()).token.authorization_code).toBe(0);
    expect((await connection('forwarded')).status).toBe('Pending');
  }, 30_000);
});
