import { oauth2Provider, startHost, type TestHost } from '../support/host';

// Storage goes away under a running app: health says which dependency fails, and API calls
// answer 503 DependencyUnavailable with Retry-After — never a 500, never internals.

let host: TestHost;
beforeAll(async () => {
  host = await startHost();
  expect((await host.request('PUT', '/providers/gh', { body: oauth2Provider() })).status).toBe(201);
  await host.azurite.stop();
}, 60000);
afterAll(async () => {
  await host?.stop().catch(() => undefined);
});

it('reports storage Unhealthy with 503', async () => {
  const r = await host.request('GET', '/health', { token: null });
  expect(r.status).toBe(503);
  expect(r.headers.get('retry-after')).toBeTruthy();
  expect(r.body).toEqual({ status: 'Unhealthy', checks: { storage: 'Unhealthy', keyVault: 'Healthy' } });
});

it('answers management calls with 503 DependencyUnavailable', async () => {
  const r = await host.request('GET', '/providers/gh');
  expect(r.status).toBe(503);
  expect(r.body.error.code).toBe('DependencyUnavailable');
  expect(r.headers.get('retry-after')).toBeTruthy();
  expect(r.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|AccountKey/);
}, 60000);
