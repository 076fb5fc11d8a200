import { startHost, type TestHost, oauth2Provider } from '../support/host';

// Background operations over HTTP on the local host and its durable driver: a provider with more
// connections than one request may delete goes in the background (202 + Location) and leaves
// nothing behind; key rotation runs on demand and reports what it scanned.

let host: TestHost;

beforeAll(async () => {
  host = await startHost();
}, 60_000);

afterAll(async () => {
  await host?.stop();
});

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function rows(table: string, filter: (pk: string) => boolean): Promise<number> {
  let n = 0;
  for await (const e of host.table(table).listEntities()) if (filter(e.partitionKey as string)) n++;
  return n;
}

it('deletes a provider with many connections in the background, leaving no row behind', async () => {
  expect((await host.request('PUT', '/providers/big', { body: oauth2Provider() })).status).toBe(201);
  const ids = Array.from({ length: 60 }, (_, i) => `c${i}`);
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(
      ids.slice(i, i + 10).map((c) => host.request('PUT', `/providers/big/connections/${c}`, { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } } })),
    );
  }
  const del = await host.request('DELETE', '/providers/big');
  expect(del.status).toBe(202);
  const location = del.headers.get('location') as string;
  expect(location).toBe(`${host.apiUrl}/operations/cascade%3Abig`);
  const done = await until(
    () => host.request('GET', location),
    (r) => r.body?.status === 'Completed',
  );
  expect(done.body).toMatchObject({ id: 'cascade:big', name: 'providerCascade', status: 'Completed', result: { providerId: 'big', deletedConnections: 60 } });
  expect((await host.request('GET', '/providers/big')).status).toBe(404);
  expect(await rows('credmanConnections', (pk) => pk === 'big')).toBe(0);
  expect(await rows('credmanAccessPolicies', (pk) => pk.startsWith('big:'))).toBe(0);
  // Only admins see operations; unknown ones are 404.
  expect((await host.request('GET', location, { token: await host.token() })).status).toBe(403);
  expect((await host.request('GET', '/operations/nope')).status).toBe(404);
}, 60_000);

it('runs key rotation on demand and reports the envelopes it scanned', async () => {
  await host.request('PUT', '/providers/small', { body: oauth2Provider() });
  const start = await host.request('POST', '/operations/rotateKeys');
  expect(start.status).toBe(202);
  const done = await until(
    () => host.request('GET', start.headers.get('location') as string),
    (r) => r.body?.status === 'Completed',
  );
  expect(done.body.result.scanned).toBeGreaterThanOrEqual(1);
  expect(done.body.result.rewrapped).toBe(0); // nothing sealed under an older version yet
  expect((await host.request('POST', '/operations/rotateKeys', { token: await host.token() })).status).toBe(403);
}, 60_000);
