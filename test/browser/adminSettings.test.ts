import { mkdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { launchChromium } from '../../local/chromium';
import { axeViolations, openConsole as open, signIn as signInAs } from '../support/consoleBrowser';
import { startHost, type TestHost } from '../support/host';

// The admin's console pages in real Chromium against the local host: a connection's access
// policies (added, refused when malformed, deleted only as the confirmation showed them), webhook
// subscriptions (the signing secret shown once, and the one deliveries are signed with), and key
// rotation followed to its end. The API is asked, beside the page, what was stored.
// CREDMAN_SCREENSHOTS=1 writes docs/console/policies.png, webhooks.png and operations.png.

const SHOTS = process.env.CREDMAN_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'console') : undefined;
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OBJECT = '3f2c6a0e-8b1d-4c5e-9f7a-2b4d6e8f0a1c';
const APP = '0d4c2a9e-7b3f-4e1a-8c6d-5f9b2e7a1c3d';

jest.setTimeout(120_000);

interface Delivery {
  headers: IncomingHttpHeaders;
  raw: Buffer;
}

let host: TestHost;
let browser: Browser;
let receiver: Server;
const received: Delivery[] = [];

const authCode = {
  clientId: 'demo-client',
  clientSecret: 'demo-secret',
  authorizationUrl: 'https://idp.example/authorize',
  tokenUrl: 'https://idp.example/token',
  scopes: 'openid',
};
const connection = { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } };

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, raw: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  [host, browser] = await Promise.all([startHost(), launchChromium(), new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok))]);
  const provider = await host.request('PUT', '/providers/github-demo', {
    body: { properties: { displayName: 'GitHub (demo)', identityProvider: 'oauth2', oauth2: { grantTypes: { authorizationCode: authCode } } } },
  });
  expect(provider.status).toBe(201);
  for (const id of ['octocat', 'gone-1', 'gone-2']) {
    expect((await host.request('PUT', `/providers/github-demo/connections/${id}`, { body: connection })).status).toBe(201);
  }
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await new Promise((ok) => receiver?.close(ok));
});

async function signedIn(path = ''): Promise<{ page: Page; errors: string[]; outside: string[] }> {
  const opened = await open(browser, host.baseUrl);
  await signInAs(opened.page, host.baseUrl, 'admin');
  await opened.page.getByRole('heading', { name: 'Providers' }).waitFor();
  if (path) await opened.page.goto(`${host.baseUrl}/api/console/${path}`);
  return opened;
}

/** The error messages of the page's console, less the API's refusals Chromium reports as failed resources. */
const unexpected = (errors: string[], ...statuses: number[]) => errors.filter((e) => !statuses.some((s) => e.includes(`status of ${s}`)));

const POLICIES = '/providers/github-demo/connections/octocat/accessPolicies';

it("adds a connection's access policy from the form, refuses a malformed GUID with nothing stored, and deletes it only as confirmed", async () => {
  const { page, errors, outside } = await signedIn('providers/github-demo/connections/octocat');
  await page.getByRole('heading', { name: 'Access policies' }).waitFor();
  // The connection came with its creator's own policy (the dev admin's Entra identity), shown in words.
  const initial = (await host.request('GET', POLICIES)).body.value as { name: string; properties: { objectId: string } }[];
  expect(initial).toHaveLength(1);
  await page
    .getByRole('row', { name: new RegExp(initial[0].name) })
    .getByText(`object id ${initial[0].properties.objectId}`)
    .waitFor();
  expect(await axeViolations(page)).toEqual([]);

  const field = (name: RegExp) => page.getByRole('textbox', { name });
  await field(/^Policy id/).fill('billing-worker');
  await field(/^Tenant id/).fill('72f988bf-86f1-41af-91ab-2d7cd011db4'); // one digit short
  await field(/^Object id/).fill(OBJECT);
  await field(/^Client app ids/).fill(`${APP}, not-an-app`);
  await page.getByRole('button', { name: 'Add access policy' }).click();
  await page.getByText('A GUID, such as').waitFor();
  await page.getByText('Not a GUID: not-an-app').waitFor();
  expect((await host.request('GET', POLICIES)).body.value).toEqual(initial);
  expect(await axeViolations(page)).toEqual([]);

  // The workload kind checks its issuer: https only.
  await page.getByRole('radio', { name: /A workload of another OpenID issuer/ }).check();
  await field(/^Issuer/).fill('http://issuer.example');
  await field(/^Subject/).fill('worker');
  await page.getByRole('button', { name: 'Add access policy' }).click();
  await page.getByText('The issuer URL, https').waitFor();
  expect((await host.request('GET', POLICIES)).body.value).toEqual(initial);

  await page.getByRole('radio', { name: /A person, group or app of Entra ID/ }).check();
  await field(/^Tenant id/).fill(TENANT);
  await field(/^Client app ids/).fill(APP);
  await page.getByRole('button', { name: 'Add access policy' }).click();
  await page.getByText('Access policy billing-worker added.').waitFor();
  const row = page.getByRole('row', { name: /billing-worker/ });
  await row.getByText(`object id ${OBJECT} in tenant ${TENANT}`).waitFor();
  await row.getByText(`Only through the client apps ${APP}`).waitFor();
  const stored = await host.request('GET', `${POLICIES}/billing-worker`);
  expect(stored.status).toBe(200);
  expect(stored.body.properties).toEqual({ tenantId: TENANT, objectId: OBJECT, appIds: [APP] });
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'policies.png'), fullPage: true });
  expect(await axeViolations(page)).toEqual([]);
  // The form is empty again: the same id once more is refused before it could replace the policy.
  await field(/^Policy id/).fill('billing-worker');
  await page.getByRole('button', { name: 'Add access policy' }).click();
  await page.getByText('This connection has a policy with this id already').waitFor();
  await field(/^Policy id/).fill('');

  // The policy changes through the API while the confirmation is open: the delete is refused (412), nothing is lost.
  await page.getByRole('button', { name: 'Delete access policy billing-worker' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(`object id ${OBJECT}`).waitFor();
  expect(await axeViolations(page)).toEqual([]);
  expect((await host.request('PUT', `${POLICIES}/billing-worker`, { body: { properties: { tenantId: TENANT, objectId: OBJECT } } })).status).toBe(200);
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('PreconditionFailed').waitFor();
  expect((await host.request('GET', `${POLICIES}/billing-worker`)).status).toBe(200);
  await row.getByText('Through any client app').waitFor();

  // Cancel deletes nothing; confirming deletes it.
  await page.getByRole('button', { name: 'Delete access policy billing-worker' }).click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  expect((await host.request('GET', `${POLICIES}/billing-worker`)).status).toBe(200);
  await page.getByRole('button', { name: 'Delete access policy billing-worker' }).click();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  // The list reloads (the table goes while it loads): the creator's policy again, and no other.
  await page.getByRole('row', { name: /billing-worker/ }).waitFor({ state: 'detached' });
  await page.getByRole('row', { name: new RegExp(initial[0].name) }).waitFor();
  expect(await page.getByRole('row', { name: /billing-worker/ }).count()).toBe(0);
  const gone = await host.request('GET', `${POLICIES}/billing-worker`);
  if (gone.status !== 404) console.log(await page.locator('main').innerText());
  expect(gone.status).toBe(404);
  expect((await host.request('GET', POLICIES)).body.value).toEqual(initial);

  expect(unexpected(errors, 412)).toEqual([]);
  expect(outside).toEqual([]);
  await page.context().close();
});

it('creates a webhook subscription, shows its signing secret once (the one deliveries verify with), rotates it and deletes the subscription', async () => {
  const { page, errors, outside } = await signedIn();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: host.baseUrl });
  const nav = page.getByRole('navigation', { name: 'Console' });
  expect(await nav.getByRole('link', { name: 'Providers' }).getAttribute('aria-current')).toBe('page');
  await nav.getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Webhooks', level: 2 }).waitFor();
  expect(page.url()).toBe(`${host.baseUrl}/api/console/webhooks`);
  expect(await nav.getByRole('link', { name: 'Webhooks' }).getAttribute('aria-current')).toBe('page');
  expect(await nav.getByRole('link', { name: 'Providers' }).getAttribute('aria-current')).toBeNull();
  await page.getByText('No subscription yet.').waitFor();
  expect(await axeViolations(page)).toEqual([]);

  // Refused in the form, nothing sent: plain http off this machine, and no event.
  const url = page.getByRole('textbox', { name: /^Receiver URL/ });
  await url.fill('http://hooks.example.com/credman');
  await page.getByRole('button', { name: 'Create subscription' }).click();
  await page.getByText('An https URL').waitFor();
  await page.getByText('Choose at least one event.').waitFor();
  expect((await host.request('GET', '/webhooks')).body.value).toEqual([]);

  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  await url.fill(receiverUrl);
  await page.getByRole('checkbox', { name: 'connection.deleted' }).check();
  await page.getByRole('checkbox', { name: 'connection.reauthorizationRequired' }).check();
  await page.getByRole('button', { name: 'Create subscription' }).click();
  const secretBox = page.getByRole('textbox', { name: 'Signing secret' });
  await secretBox.waitFor();
  await page.getByText('you will not see it again').waitFor();
  const secret = await secretBox.inputValue();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
  const listed = (await host.request('GET', '/webhooks')).body.value;
  expect(listed).toHaveLength(1);
  const name = listed[0].name as string;
  // The events in the catalogue's order, whatever order they were ticked in.
  expect(listed[0].properties).toMatchObject({ url: receiverUrl, events: ['connection.reauthorizationRequired', 'connection.deleted'], signed: true });
  const row = page.getByRole('row', { name: new RegExp(name) });
  await row.waitFor();
  expect(await row.getByRole('listitem').allInnerTexts()).toEqual(['connection.reauthorizationRequired', 'connection.deleted']);
  await page.getByRole('button', { name: 'Copy' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'webhooks.png'), fullPage: true });
  expect(await axeViolations(page)).toEqual([]);

  // Gone on reload: the page kept it nowhere.
  await page.reload();
  await page.getByRole('row', { name: new RegExp(name) }).waitFor();
  expect(await page.getByRole('textbox', { name: 'Signing secret' }).count()).toBe(0);
  expect(await page.content()).not.toContain(secret);
  expect(await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + location.href)).not.toContain(secret.slice(6));

  // The secret the page showed is the one a receiver verifies deliveries with.
  const delivery = async (connectionId: string): Promise<Delivery> => {
    const before = received.length;
    expect((await host.request('DELETE', `/providers/github-demo/connections/${connectionId}`)).status).toBe(200);
    const end = Date.now() + 20_000;
    while (received.length === before && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(received.length).toBe(before + 1);
    return received[before];
  };
  const verifies = (s: string, d: Delivery) => {
    try {
      new Webhook(s).verify(d.raw, d.headers as Record<string, string>);
      return true;
    } catch {
      return false;
    }
  };
  expect(verifies(secret, await delivery('gone-1'))).toBe(true);

  // Rotation: a new secret, once; the old one keeps signing beside it for the hours chosen.
  await page.getByRole('button', { name: `Rotate secret of ${name}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('spinbutton', { name: /Keep the previous secret signing/ }).fill('2');
  expect(await axeViolations(page)).toEqual([]);
  await dialog.getByRole('button', { name: 'Rotate' }).click();
  await page.getByText(/^The previous secret signs too until/).waitFor();
  const rotated = await page.getByRole('textbox', { name: 'Signing secret' }).inputValue();
  expect(rotated).toMatch(/^whsec_/);
  expect(rotated).not.toBe(secret);
  const stored = (await host.request('GET', `/webhooks/${name}`)).body.properties;
  const keptFor = Date.parse(stored.previousSecretExpiresOn as string) - Date.now();
  expect(keptFor).toBeGreaterThan(1.9 * 3600_000);
  expect(keptFor).toBeLessThanOrEqual(2 * 3600_000);
  const after = await delivery('gone-2');
  expect(verifies(rotated, after)).toBe(true);
  expect(verifies(secret, after)).toBe(true);
  await page.getByRole('button', { name: 'I have stored it' }).click();
  expect(await page.getByRole('textbox', { name: 'Signing secret' }).count()).toBe(0);

  await page.getByRole('button', { name: `Delete webhook ${name}` }).click();
  await dialog.getByText(`${receiverUrl} will get no more events.`).waitFor();
  await dialog.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByText('No subscription yet.').waitFor();
  expect((await host.request('GET', '/webhooks')).body.value).toEqual([]);

  expect(errors).toEqual([]);
  expect(outside).toEqual([]);
  await page.context().close();
});

it('rotates the keys on confirmation and follows the operation to done, from the address after a reload too', async () => {
  const { page, errors, outside } = await signedIn();
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Operations' }).click();
  await page.getByRole('heading', { name: 'Operations' }).waitFor();
  expect(await axeViolations(page)).toEqual([]);

  // Cancel starts nothing.
  await page.getByRole('button', { name: 'Rotate keys now' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  expect((await host.request('GET', '/operations/rotateKeys')).status).toBe(404);

  await page.getByRole('button', { name: 'Rotate keys now' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate keys' }).click();
  await page.waitForURL(`${host.baseUrl}/api/console/operations?operation=rotateKeys`);
  const bar = page.getByRole('progressbar');
  await page.getByText('rotateKeys: Done').waitFor({ timeout: 60_000 });
  expect(await bar.getAttribute('aria-valuenow')).toBe('1');
  const operation = (await host.request('GET', '/operations/rotateKeys')).body;
  expect(operation).toMatchObject({ status: 'Completed', result: { scanned: expect.any(Number), rewrapped: expect.any(Number) } });
  // The provider's client secret and the connections' envelopes, at least.
  expect(operation.result.scanned).toBeGreaterThan(0);
  // The result in words, as the API reported it.
  await page.getByRole('heading', { name: 'Result' }).waitFor();
  expect(await page.locator('dl').last().innerText()).toMatch(new RegExp(`Envelopes scanned\\s+${operation.result.scanned}\\s+Envelopes rewrapped\\s+${operation.result.rewrapped}`));
  if (SHOTS) await page.screenshot({ path: join(SHOTS, 'operations.png'), fullPage: true });
  expect(await axeViolations(page)).toEqual([]);

  // A reload resumes from the address.
  await page.reload();
  await page.getByText('rotateKeys: Done').waitFor();
  expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('1');

  // An id outside the pattern is ignored, never sent.
  const asked: string[] = [];
  page.on('request', (r) => r.url().includes('/api/operations/') && asked.push(r.url()));
  await page.goto(`${host.baseUrl}/api/console/operations?operation=..%2F..%2Fproviders`);
  await page.getByRole('button', { name: 'Rotate keys now' }).waitFor();
  expect(await page.getByRole('progressbar').count()).toBe(0);
  expect(asked).toEqual([]);

  expect(errors).toEqual([]);
  expect(outside).toEqual([]);
  await page.context().close();
});
