import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../local/chromium';
import { axeViolations, openConsole as open, signIn as signInAs } from '../support/consoleBrowser';
import { startHost, type TestHost } from '../support/host';

// The console in real Chromium against the local host (`npm start`'s): sign-in through the local
// OpenID provider's own login and consent pages, the providers an admin created through the API,
// an accessibility scan (axe-core), and a person without the admin role on their own page (My
// connections) and told why the providers page shows nothing.
// CREDMAN_SCREENSHOTS=1 writes the pages to docs/console/*.png.

const SHOTS = process.env.CREDMAN_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'console') : undefined;

jest.setTimeout(90_000);

let host: TestHost;
let browser: Browser;

beforeAll(async () => {
  [host, browser] = await Promise.all([startHost(), launchChromium()]);
  const provider = await host.request('PUT', '/providers/github-demo', {
    body: {
      properties: {
        displayName: 'GitHub (demo)',
        identityProvider: 'oauth2',
        oauth2: {
          grantTypes: {
            authorizationCode: {
              clientId: 'demo-client',
              clientSecret: 'demo-secret',
              authorizationUrl: 'https://idp.example/authorize',
              tokenUrl: 'https://idp.example/token',
              scopes: 'openid',
            },
          },
        },
      },
    },
  });
  expect(provider.status).toBe(201);
  const connection = await host.request('PUT', '/providers/github-demo/connections/octocat', {
    body: { properties: { displayName: 'Octocat', authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } },
  });
  expect(connection.status).toBe(201);
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
});
const openConsole = () => open(browser, host.baseUrl);
const signIn = (page: Parameters<typeof signInAs>[0], login: string) => signInAs(page, host.baseUrl, login);

it('signs an admin in through the OpenID provider, lists the providers and their connections accessibly, and signs out', async () => {
  const { page, errors, outside } = await openConsole();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'signin.png') });
  expect(await axeViolations(page)).toEqual([]);

  await signIn(page, 'admin');
  await page.getByRole('heading', { name: 'Providers' }).waitFor();
  await page.getByRole('link', { name: 'GitHub (demo)' }).waitFor();
  expect(await page.getByText('Signed in as Dev Admin').count()).toBe(1);
  expect(await page.getByRole('link', { name: 'My connections' }).getAttribute('href')).toBe('/api/console/me');
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'providers.png') });
  expect(await axeViolations(page)).toEqual([]);

  // By keyboard: the provider's link, then its connections with their status in words.
  await page.getByRole('link', { name: 'GitHub (demo)' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'GitHub (demo) (github-demo)' }).waitFor();
  await page.getByRole('heading', { name: 'Connections' }).waitFor();
  await page.getByText('Waiting for sign-in').waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/providers/github-demo`);
  expect(await axeViolations(page)).toEqual([]);

  // A page reloaded by address (the SPA fallback) keeps the session of the tab.
  await page.reload();
  await page.getByText('Waiting for sign-in').waitFor();

  // Signing out goes through the provider (which asks), and the tab forgets the tokens.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(`${host.baseUrl}/api/console/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('oidc.user')))).toEqual([]);
  expect(errors).toEqual([]);
  expect(outside).toEqual([]);
  await page.context().close();
});

it('lands a person without the admin role on My connections, and tells them why the providers page shows nothing, with the API code', async () => {
  const { page, errors, outside } = await openConsole();
  await signIn(page, 'alice');
  // The home asks the server (one page of providers, answered 403) and shows the person's own page.
  await page.getByRole('heading', { name: 'My connections' }).waitFor();
  await page.getByText('No provider offers self-service yet').waitFor();
  expect(await page.getByRole('heading', { name: 'Providers' }).count()).toBe(0);
  expect(await page.locator('main').innerText()).not.toContain('github-demo');
  expect(await axeViolations(page)).toEqual([]);

  await page.goto(`${host.baseUrl}/api/console/providers`);
  await page.getByText('You are not an administrator of credman').waitFor();
  const text = await page.locator('main').innerText();
  expect(text).toContain('Forbidden');
  expect(text).not.toContain('github-demo');
  expect(await page.getByText('Signed in as Alice').count()).toBe(1);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'not-admin.png') });
  expect(await axeViolations(page)).toEqual([]);
  // The failed calls are the API's 403s, which Chromium reports as failed resources.
  expect(errors.filter((e) => !/status of 403/.test(e))).toEqual([]);
  expect(outside).toEqual([]);
  await page.context().close();
});

it('refuses an account the dev provider does not know', async () => {
  const { page } = await openConsole();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oidc\/interaction\//);
  await page.locator('input[name="login"]').fill('mallory');
  await page.locator('input[name="password"]').fill('x');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByText('No such dev account').waitFor();
  await page.context().close();
});

it('renews the session with the refresh token before the access token ends, without an iframe, and keeps working', async () => {
  // Tokens of 61 s: the console renews them a minute before the end, so at once.
  const short = await startHost({ CREDMAN_LOCAL_SIGNIN_TOKEN_SECONDS: '61' });
  try {
    const { page, errors, outside } = await open(browser, short.baseUrl);
    await signInAs(page, short.baseUrl, 'admin');
    await page.getByRole('heading', { name: 'Providers' }).waitFor();
    const accessToken = () =>
      page.evaluate(() => Object.entries(sessionStorage).find(([k]) => k.startsWith('oidc.user'))?.[1] ?? '{}').then((u) => (JSON.parse(u) as { access_token?: string }).access_token);
    const first = await accessToken();
    expect(first).toBeTruthy();
    let renewed = first;
    for (const end = Date.now() + 20_000; renewed === first && Date.now() < end;) {
      await page.waitForTimeout(250);
      renewed = await accessToken();
    }
    expect(renewed).not.toBe(first);
    expect(await page.locator('iframe').count()).toBe(0);
    // The renewed token is the one the pages use, and the API takes it.
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    expect(await page.getByText('Your sign-in is no longer valid').count()).toBe(0);
    expect((await short.request('GET', '/webhooks', { token: renewed as string })).status).toBe(200);
    expect(errors).toEqual([]);
    expect(outside).toEqual([]);
    await page.context().close();
  } finally {
    await short.stop();
  }
});

it('keeps a consent code that arrives signed out out of the address bar, history and localStorage, and completes it after sign-in', async () => {
  const { page } = await open(browser, host.baseUrl);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const landing = `${host.baseUrl}/api/console/me?provider=github-demo&status=confirmationRequired&consentCode=code-from-the-redirect`;
  await page.goto(landing);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/me`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oidc\/interaction\//);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  expect(stored).not.toContain('code-from-the-redirect');
  await page.locator('input[name="login"]').fill('alice');
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  // Back on My connections, which confirms the code with alice's token (it is no code of hers: refused, nothing connected).
  await page.getByText('Your sign-in could not be completed').waitFor();
  expect(page.url()).not.toContain('code-from-the-redirect');
  await page.context().close();
});
