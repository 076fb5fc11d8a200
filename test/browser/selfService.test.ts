import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../local/chromium';
import { axeViolations, openConsole as open, signIn as signInAs } from '../support/consoleBrowser';
import { CookieJar, completeConsent } from '../support/consentDriver';
import { startHost, type TestHost } from '../support/host';
import { registerClient, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// My connections (docs/console.md) in real Chromium against the local host: people sign in to the
// console (the local OpenID provider), connect their own account at a self-service provider
// through the real upstream identity provider's login and consent pages (oidc-provider), come
// back connected without credman's confirmation page (the console confirms the consent code with
// the person's own token), their app gets tokens with their token, nobody else reaches their
// connection, and they reconnect and disconnect. CREDMAN_SCREENSHOTS=1 writes my-connections.png.

const SHOTS = process.env.CREDMAN_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'console') : undefined;
const UPSTREAM = 'upstream';
const CALENDAR = 'calendar';
const ADMINS_ONLY = 'admins-only';
/** The app the upstream provider's self-service grants tokens to (its selfService.appIds). */
const APP = '00000000-0000-4000-8000-0000000000a7';

jest.setTimeout(120_000);

let host: TestHost;
let world: OAuthWorld;
let browser: Browser;

/** A provider at the upstream identity provider, as an admin creates it through the API. */
function putProvider(providerId: string, displayName: string, selfService?: { enabled: boolean; appIds?: string[] }) {
  const grant = {
    clientId: 'cm-people',
    clientSecret: world.clientSecret,
    authorizationUrl: `${world.idp.url}/auth`,
    tokenUrl: `${world.proxy.url}/token`,
    scopes: 'openid offline_access api',
    clientAuthentication: 'basic',
  };
  return host.request('PUT', `/providers/${providerId}`, {
    body: { properties: { displayName, identityProvider: 'oauth2', ...(selfService ? { selfService } : {}), oauth2: { grantTypes: { authorizationCode: grant } } } },
  });
}

beforeAll(async () => {
  // A forced refresh goes to the identity provider at once (the test breaks a connection that way).
  [host, world, browser] = await Promise.all([startHost({ CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' }), startOAuthWorld({ accessTokenTtl: 600 }), launchChromium()]);
  await registerClient(world, [host], 'cm-people');
  expect((await putProvider(UPSTREAM, 'Upstream (oidc-provider)', { enabled: true, appIds: [APP] })).status).toBe(201);
  expect((await putProvider(CALENDAR, 'Calendar (demo)', { enabled: true })).status).toBe(201);
  expect((await putProvider(ADMINS_ONLY, 'Admins only')).status).toBe(201);
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await world?.stop();
});

const signIn = async (login: string) => {
  const opened = await open(browser, host.baseUrl);
  await signInAs(opened.page, host.baseUrl, login);
  await opened.page.getByRole('heading', { name: 'My connections' }).waitFor();
  return opened;
};

/** The console's access token of the person signed in in this tab, and their object id. */
async function consoleToken(page: Page): Promise<{ token: string; oid: string }> {
  const token = await page.evaluate(() => {
    const key = Object.keys(sessionStorage).find((k) => k.startsWith('oidc.user:'));
    return key ? (JSON.parse(sessionStorage.getItem(key) as string) as { access_token: string }).access_token : '';
  });
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { oid: string };
  return { token, oid: claims.oid };
}

/** The row of a provider on My connections. */
const row = (page: Page, name: string) => page.getByRole('row').filter({ hasText: name });

/** The upstream identity provider's own pages (login when it has no session, consent when it has no grant), until the console again. */
async function upstreamSignIn(page: Page, login: string): Promise<void> {
  for (let step = 0; step < 4; step++) {
    await page.waitForURL((u) => u.href.startsWith(world.idp.url) || u.href.startsWith(`${host.baseUrl}/api/console/`));
    if (page.url().startsWith(`${host.baseUrl}/api/console/`)) return;
    await page.waitForLoadState();
    const at = page.url();
    if (await page.locator('input[name="login"]').count()) {
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('any password');
      await page.getByRole('button', { name: 'Sign-in' }).click();
    } else {
      await page.getByRole('button', { name: 'Continue' }).click();
    }
    await page.waitForURL((u) => u.href !== at);
  }
  throw new Error(`the sign-in did not come back to the console: ${page.url()}`);
}

let alice: { oid: string; connectionId: string; appToken: string };

it('lands a person on My connections, connects her through the upstream sign-in, and her app gets a token with her own token', async () => {
  const { page, errors, outside } = await signIn('alice');
  expect(page.url()).toBe(`${host.baseUrl}/api/console/`);
  // Only the providers offering self-service, none connected yet.
  await row(page, 'Upstream (oidc-provider)').getByText('Not connected').waitFor();
  await row(page, 'Calendar (demo)').getByText('Not connected').waitFor();
  expect(await page.locator('main').innerText()).not.toContain(ADMINS_ONLY);
  expect(await page.getByRole('heading', { name: 'Providers' }).count()).toBe(0);
  expect(await axeViolations(page)).toEqual([]);

  const { oid } = await consoleToken(page);
  alice = { oid, connectionId: `u.${oid}`, appToken: await host.token({ oid, appId: APP }) };

  expect(outside).toEqual([]); // the console itself needs nothing off this machine
  await page.getByRole('button', { name: 'Connect Upstream (oidc-provider)' }).click();
  await page.waitForURL((u) => u.href.startsWith(world.idp.url));
  await upstreamSignIn(page, 'alice');
  // Back on My connections, confirmed with her token: no confirmation page of credman's on the way.
  await page.getByText('Connected to Upstream (oidc-provider)').waitFor();
  await row(page, 'Upstream (oidc-provider)').getByText('Connected', { exact: true }).waitFor();
  await row(page, 'Upstream (oidc-provider)')
    .getByText(/Your apps can get tokens; credman renews them/)
    .waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/me`); // the consent code left the address bar
  expect(await page.getByRole('link', { name: 'My connections' }).getAttribute('aria-current')).toBe('page');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'my-connections.png') });
  expect(await axeViolations(page)).toEqual([]);

  const admin = await host.request('GET', `/providers/${UPSTREAM}/connections/${alice.connectionId}`);
  expect(admin.body.properties).toMatchObject({ status: 'Connected', owner: { objectId: oid } });

  // Her app, with a token of hers for that app: an access token of her upstream account.
  const token = await tokenOf(host, UPSTREAM, alice.connectionId, '', alice.appToken);
  expect(token.status).toBe(200);
  expect(token.body.accessToken).toEqual(expect.any(String));
  // Her console's token is hers too, but of another app than the provider grants: refused.
  expect((await tokenOf(host, UPSTREAM, alice.connectionId, '', (await consoleToken(page)).token)).status).toBe(403);

  // The home's admin probe is the API's 403, which Chromium reports as a failed resource.
  expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  // The upstream provider's own pages (oidc-provider's dev login) import a web font, refused here.
  expect(outside.filter((u) => !u.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
  await page.context().close();
});

it("shows bob none of alice's connection, the API refuses him on it, and his console cannot complete her sign-in", async () => {
  const { page, errors } = await signIn('bob');
  await row(page, 'Upstream (oidc-provider)').getByText('Not connected').waitFor();
  expect(await page.locator('main').innerText()).not.toContain('Connected to');
  const bob = await consoleToken(page);
  expect(bob.oid).not.toBe(alice.oid);

  // His me/ routes reach only his own (none); the admin routes need the role; the token endpoint a policy.
  const his = await host.request('GET', `/me/providers/${UPSTREAM}/connection`, { token: bob.token });
  expect([his.status, his.body.error.code]).toEqual([404, 'ConnectionNotFound']);
  for (const [method, path] of [
    ['GET', `/providers/${UPSTREAM}/connections/${alice.connectionId}`],
    ['DELETE', `/providers/${UPSTREAM}/connections/${alice.connectionId}`],
    ['POST', `/providers/${UPSTREAM}/connections/${alice.connectionId}/getLoginLinks`],
  ] as const) {
    const r = await host.request(method, path, { token: bob.token, ...(method === 'POST' ? { body: {} } : {}) });
    expect([path, r.status, r.body.error.code]).toEqual([path, 403, 'Forbidden']);
  }
  const bobsApp = await host.token({ oid: bob.oid, appId: APP });
  expect((await tokenOf(host, UPSTREAM, alice.connectionId, '', bobsApp)).status).toBe(403);
  expect((await host.request('GET', `/providers/${UPSTREAM}/connections/${alice.connectionId}`)).body.properties.status).toBe('Connected');

  // Alice signs in again (her own link, outside this browser), and the address it ends at, with
  // her consent code, reaches bob's console: it confirms with bob's token, which owns no such
  // connection, so nothing happens and her code still works for her.
  const back = `${host.baseUrl}/api/console/me`;
  const link = await host.request('POST', `/me/providers/${UPSTREAM}/connection/getLoginLinks`, { token: alice.appToken, body: { postLoginRedirectUrl: `${back}?provider=${UPSTREAM}` } });
  const end = await completeConsent(link.body.loginLink as string, { login: 'alice', cookieJar: new CookieJar(), stopWhen: (u) => u.href.startsWith(back) });
  const consentCode = end.url.searchParams.get('consentCode');
  expect(consentCode).toEqual(expect.any(String));
  await page.goto(end.url.href);
  await page.getByText('Your sign-in could not be completed').waitFor();
  await page.getByText(/ConnectionNotFound/).waitFor();
  await row(page, 'Upstream (oidc-provider)').getByText('Not connected').waitFor();
  expect(page.url()).toBe(back);
  expect(await axeViolations(page)).toEqual([]);
  expect((await host.request('GET', `/me/providers/${UPSTREAM}/connection`, { token: bob.token })).status).toBe(404);
  const hers = await host.request('POST', `/me/providers/${UPSTREAM}/connection/confirmConsentCode`, { token: alice.appToken, body: { consentCode } });
  expect([hers.status, hers.body.properties.status]).toEqual([200, 'Connected']);
  // The failed confirmation is the API's 404, which Chromium reports as a failed resource.
  expect(errors.filter((e) => !/status of 40[34]/.test(e))).toEqual([]);
  await page.context().close();
});

it('says nothing was connected when bob declines at the provider, and shows no text an address brings', async () => {
  const { page } = await signIn('bob');
  await page.getByRole('button', { name: 'Connect Calendar (demo)' }).click();
  await page.waitForURL((u) => u.href.startsWith(world.idp.url));
  await page.locator('input[name="login"]').fill('bob');
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.locator('a[href$="/abort"]').click();
  await page.getByText('Nothing was connected').waitFor();
  await page.getByText(/ConsentDenied: You declined to grant access/).waitFor();
  await row(page, 'Calendar (demo)').getByText('Needs sign-in again').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  // A crafted address: its words never reach the page, only a code credman could have written.
  await page.goto(`${host.baseUrl}/api/console/me?provider=${CALENDAR}&status=error&code=${encodeURIComponent('Call +1 555 0100 to restore your account')}`);
  await page.getByText(/SignInFailed: The sign-in did not finish/).waitFor();
  expect(await page.locator('main').innerText()).not.toContain('555');
  await page.context().close();
});

it('tells alice her connection needs sign-in again when the upstream grant is revoked, and reconnects her', async () => {
  await world.idp.revokeAll();
  const refused = await tokenOf(host, UPSTREAM, alice.connectionId, '?forceRefresh=true', alice.appToken);
  expect([refused.status, refused.body.error.code]).toEqual([409, 'ReauthorizationRequired']);

  const { page, errors } = await signIn('alice');
  const upstream = row(page, 'Upstream (oidc-provider)');
  await upstream.getByText('Needs sign-in again').waitFor();
  await upstream.getByText(/\(ReauthorizationRequired\)/).waitFor();
  expect(await axeViolations(page)).toEqual([]);

  await page.getByRole('button', { name: 'Reconnect Upstream (oidc-provider)' }).click();
  await page.waitForURL((u) => u.href.startsWith(world.idp.url));
  await upstreamSignIn(page, 'alice');
  await page.getByText('Connected to Upstream (oidc-provider)').waitFor();
  await upstream.getByText('Connected', { exact: true }).waitFor();
  expect((await tokenOf(host, UPSTREAM, alice.connectionId, '', alice.appToken)).status).toBe(200);
  expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  await page.context().close();
});

it('disconnects alice after she confirms, and her connection is gone', async () => {
  const { page, errors } = await signIn('alice');
  const upstream = row(page, 'Upstream (oidc-provider)');
  await upstream.getByText('Connected', { exact: true }).waitFor();

  await page.getByRole('button', { name: 'Disconnect Upstream (oidc-provider)' }).click();
  const dialog = page.getByRole('dialog', { name: 'Disconnect Upstream (oidc-provider)?' });
  await dialog.waitFor();
  expect(await axeViolations(page)).toEqual([]);
  // Cancel, or Escape, keeps it.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('button', { name: 'Disconnect Upstream (oidc-provider)' }).click();
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  expect((await host.request('GET', `/me/providers/${UPSTREAM}/connection`, { token: alice.appToken })).status).toBe(200);

  await page.getByRole('button', { name: 'Disconnect Upstream (oidc-provider)' }).click();
  await dialog.getByRole('button', { name: 'Disconnect' }).click();
  await page.getByText('Disconnected from Upstream (oidc-provider)').waitFor();
  await upstream.getByText('Not connected').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  const mine = await host.request('GET', `/me/providers/${UPSTREAM}/connection`, { token: alice.appToken });
  expect([mine.status, mine.body.error.code]).toEqual([404, 'ConnectionNotFound']);
  expect((await host.request('GET', `/providers/${UPSTREAM}/connections/${alice.connectionId}`)).status).toBe(404);
  expect((await tokenOf(host, UPSTREAM, alice.connectionId, '', alice.appToken)).status).not.toBe(200);
  expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  await page.context().close();
});
