import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../local/chromium';
import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import { axeViolations, openConsole, signIn } from '../support/consoleBrowser';
import { startHost, type TestHost } from '../support/host';
import { startIdp, type Idp } from '../support/idp';

// An admin's whole journey in the console, in real Chromium against the local host, with a real
// upstream identity provider (oidc-provider, test/support/idp.ts): a provider created from the
// catalogue's generated form (a value the form refuses, then one only the API refuses, both shown
// at their field and nothing stored), its redirect URL copied and registered upstream, a
// connection created from the form, its login link followed through the upstream login and consent
// pages and credman's confirmation page, the connection shown Connected with its token expiry, then
// deleted. Every page is scanned with axe-core. CREDMAN_SCREENSHOTS=1 writes docs/console/{catalogue,provider,connection}.png.
//
// The host refuses private destinations except the identity provider's address (127.0.0.1), so
// that a token URL on `localhost` is a 400 only the API can give (its destination guard).

const SHOTS = process.env.CREDMAN_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'console') : undefined;

jest.setTimeout(120_000);

let host: TestHost;
let browser: Browser;
let idp: Idp;

beforeAll(async () => {
  [host, browser, idp] = await Promise.all([
    startHost({ CREDMAN_ALLOW_PRIVATE_NETWORKS: 'false', CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: '127.0.0.1', CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0' }),
    launchChromium(),
    startIdp({ accessTokenTtl: 3600, scopes: ['api'], clients: [] }),
  ]);
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await idp?.stop();
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A form control by its field's label (a required field's label ends in an asterisk). */
const field = (page: Page, label: string) => page.getByLabel(new RegExp(`^${escape(label)}\\s*\\*?$`));
/** What the field says about its value: the texts that describe the control (validation message, hint). */
const said = (page: Page, label: string) =>
  field(page, label).evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' '),
  );

it('creates a provider from the catalogue, a connection, connects it through the upstream sign-in, and deletes it', async () => {
  const { page, errors, outside } = await openConsole(browser, host.baseUrl);
  const context = page.context();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: host.baseUrl });
  await signIn(page, host.baseUrl, 'admin');

  // The catalogue, from the providers page.
  await page.getByRole('link', { name: 'New provider' }).click();
  await page.getByRole('heading', { name: 'New provider' }).waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/catalogue`);
  await field(page, 'Search identity providers').fill('generic oauth');
  expect(await page.getByRole('button', { name: 'GitHub' }).count()).toBe(0);
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Generic OAuth 2.0', exact: true }).click();
  await page.getByRole('heading', { name: 'New provider from Generic OAuth 2.0' }).waitFor();

  // The form generated from the template: the secret is a password field, nothing prefilled.
  expect(await field(page, 'Client secret').getAttribute('type')).toBe('password');
  expect(await field(page, 'Client secret').inputValue()).toBe('');
  const secret = randomBytes(18).toString('base64url');
  await field(page, 'Provider id').fill('upstream');
  await field(page, 'Display name').fill('Upstream IdP');
  await field(page, 'Client ID').fill('cm-console');
  await field(page, 'Client secret').fill(secret);
  await field(page, 'Authorization URL').fill(`${idp.url}/auth`);
  await field(page, 'Token URL').fill(`${idp.url.replace('127.0.0.1', 'localhost')}/token`);
  await field(page, 'Scopes').fill('openid offline_access api');
  await field(page, 'Client authentication').fill('bogus');
  await field(page, 'API base URL').fill('https://api.example/v1?page=1');
  await page.evaluate(() => scrollTo(0, 0));
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'catalogue.png') });
  expect(await axeViolations(page)).toEqual([]);

  // A value against the template's pattern: said at its field, nothing sent.
  await page.getByRole('button', { name: 'Create provider' }).click();
  await page.getByText('Client authentication does not have the expected form (basic|body).').waitFor();
  expect(await field(page, 'Client authentication').getAttribute('aria-invalid')).toBe('true');
  expect(await said(page, 'Client authentication')).toContain('does not have the expected form');
  expect(await said(page, 'API base URL')).toContain('must have no query or fragment');
  expect((await host.request('GET', '/providers/upstream')).status).toBe(404);

  // A token URL only the API refuses (its destination guard): its code, and the detail at the field.
  await field(page, 'Client authentication').fill('basic');
  await field(page, 'API base URL').fill('');
  await page.getByRole('button', { name: 'Create provider' }).click();
  await page.getByRole('alert').getByText('ValidationError').waitFor();
  expect(await said(page, 'Token URL')).toContain('must be named in CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS');
  expect(await field(page, 'Token URL').getAttribute('aria-invalid')).toBe('true');
  expect((await host.request('GET', '/providers/upstream')).status).toBe(404);

  await field(page, 'Token URL').fill(`${idp.url}/token`);
  await page.getByRole('button', { name: 'Create provider' }).click();
  await page.getByRole('heading', { name: 'Upstream IdP (upstream)' }).waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/providers/upstream`);
  const stored = await host.request('GET', '/providers/upstream');
  expect(stored.body.properties).toMatchObject({ identityProvider: 'oauth2', oauth2: { grantTypes: { authorizationCode: { clientId: 'cm-console', clientAuthentication: 'basic' } } } });

  // The provider page: the redirect URL, copied, registered upstream; the secret nowhere.
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByRole('button', { name: 'Copied' }).waitFor();
  const redirectUrl = await page.evaluate(() => navigator.clipboard.readText());
  expect(redirectUrl).toBe(`${host.baseUrl}/api/consent/callback`);
  expect(await page.locator('main').innerText()).not.toContain(secret);
  expect(await page.locator('main').innerText()).toContain('cm-console');
  expect(await page.locator('dt:text-is("API base URL") + dd').innerText()).toBe('None');
  await idp.addClient({
    client_id: 'cm-console',
    client_secret: secret,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid offline_access api',
  });
  expect(await axeViolations(page)).toEqual([]);

  // A connection from the form.
  await field(page, 'Connection id').fill('octo');
  await field(page, 'Connection display name').fill('Octo account');
  await page.getByRole('button', { name: 'Create connection' }).click();
  await page.getByRole('heading', { name: 'Octo account (octo)' }).waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/providers/upstream/connections/octo`);
  await page.getByText('Waiting for sign-in').waitFor();

  // Its login link, followed in the same browser: upstream login and consent, credman's confirmation.
  await page.getByRole('button', { name: 'Get login link' }).click();
  await page.getByRole('link', { name: 'Open the login link' }).waitFor();
  const link = await page.getByRole('link', { name: 'Open the login link' }).getAttribute('href');
  expect(link).toMatch(new RegExp(`^${escape(host.baseUrl)}/api/consent/start\\?state=`));
  expect(await field(page, 'Login link').inputValue()).toBe(link);
  const upstream = await context.newPage();
  await upstream.goto(link!);
  await upstream.waitForURL(new RegExp(`^${escape(idp.url)}/interaction/`));
  await upstream.locator('input[name="login"]').fill('octocat');
  await upstream.locator('input[name="password"]').fill('any password');
  await upstream.getByRole('button', { name: 'Sign-in' }).click();
  await upstream.getByRole('button', { name: 'Continue' }).click();
  await upstream.getByRole('button', { name: 'Connect my account' }).click();
  await upstream.getByText('is ready').waitFor();
  await upstream.close();

  // The console page saw it happen (it reads the connection while a link is out).
  await page.getByText('Connected', { exact: true }).waitFor({ timeout: 15_000 });
  const tokenExpires = await page.locator('dt:text-is("Token expires") + dd').innerText();
  expect(tokenExpires).not.toBe('—');
  for (const term of ['Last refresh', 'Consented']) expect(await page.locator(`dt:text-is("${term}") + dd`).innerText()).toMatch(/\d/);
  expect(await page.locator('dt:text-is("Next") + dd').innerText()).toMatch(/^(Nothing to do until|credman refreshes its token)/);
  expect((await host.request('GET', '/providers/upstream/connections/octo')).body.properties.status).toBe('Connected');
  await page.evaluate(() => scrollTo(0, 0));
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'connection.png') });
  expect(await axeViolations(page)).toEqual([]);

  // The provider page lists it, connected, with its expiry.
  await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'upstream' }).click();
  await page.getByRole('heading', { name: 'Upstream IdP (upstream)' }).waitFor();
  const row = page.getByRole('row', { name: /Octo account/ });
  await row.getByText('Connected').waitFor();
  expect(await row.innerText()).toMatch(/\d/);
  await page.evaluate(() => scrollTo(0, 0));
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'provider.png') });
  expect(await axeViolations(page)).toEqual([]);

  // The grant is revoked upstream: the next (forced) refresh puts the connection in Error. The
  // provider page lists it first, before a pending one whose id sorts earlier, with its error code.
  expect((await host.request('PUT', '/providers/upstream/connections/aaa-pending', { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } } })).status).toBe(201);
  await idp.revokeAll();
  const app = await host.token({ oid: DEV_APP_OBJECT_ID });
  const refused = await host.request('POST', '/providers/upstream/connections/octo/token?forceRefresh=true', { token: app });
  expect(refused.body.error.code).toBe('ReauthorizationRequired');
  await page.reload();
  await page.getByRole('heading', { name: 'Upstream IdP (upstream)' }).waitFor();
  const rows = page.getByRole('row');
  await rows.nth(2).waitFor();
  expect(await rows.nth(1).innerText()).toMatch(/Octo account[\s\S]*Needs attention[\s\S]*ReauthorizationRequired/);
  expect(await rows.nth(2).innerText()).toMatch(/aaa-pending[\s\S]*Waiting for sign-in/);

  // Its page offers to reconnect: a new login link.
  await row.getByRole('link', { name: 'Octo account' }).click();
  await page.getByRole('heading', { name: 'Octo account (octo)' }).waitFor();
  await page.getByText('ReauthorizationRequired').first().waitFor();
  await page.getByRole('button', { name: 'Reconnect' }).click();
  expect(await page.getByRole('link', { name: 'Open the login link' }).getAttribute('href')).toMatch(new RegExp(`^${escape(host.baseUrl)}/api/consent/start\\?state=`));
  expect(await axeViolations(page)).toEqual([]);

  // Delete, confirmed in a dialog: the progress shows, then the connection is gone.
  await page.evaluate(() => {
    const w = window as unknown as { sawProgress: boolean };
    w.sawProgress = false;
    new MutationObserver(() => {
      if (document.querySelector('[role="progressbar"]')) w.sawProgress = true;
    }).observe(document.body, { subtree: true, childList: true });
  });
  await page.getByRole('button', { name: 'Delete connection' }).click();
  // Kept: nothing happens.
  await page.getByRole('alertdialog').getByRole('button', { name: 'Keep it' }).click();
  await page.getByRole('alertdialog').waitFor({ state: 'detached' });
  expect((await host.request('GET', '/providers/upstream/connections/octo')).status).toBe(200);
  await page.getByRole('button', { name: 'Delete connection' }).click();
  const dialog = page.getByRole('alertdialog', { name: 'Delete Octo account?' });
  await dialog.waitFor();
  expect(await axeViolations(page)).toEqual([]);
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'Upstream IdP (upstream)' }).waitFor();
  await page.getByRole('link', { name: 'aaa-pending' }).waitFor();
  expect(await page.getByRole('link', { name: 'Octo account' }).count()).toBe(0);
  // Nothing of the page is left hidden from assistive technology by the closed dialog.
  expect(await page.locator('#root[aria-hidden="true"]').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { sawProgress: boolean }).sawProgress)).toBe(true);
  expect((await host.request('GET', '/providers/upstream/connections/octo')).status).toBe(404);

  expect(errors.filter((e) => !/status of 40[04]/.test(e))).toEqual([]);
  // The console asks nothing of other hosts; oidc-provider's own dev pages ask for a web font (refused).
  expect(outside.filter((u) => !u.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
  await context.close();
});
