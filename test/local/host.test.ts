import { ANY_METHOD } from '../../shared/api/openapi';
import { ROUTES, type RouteName } from '../../shared/api/routes';
import { startHost, type TestHost } from '../support/host';
import { startSilentServer } from '../support/silentServer';

// The local host receives the app's own registrations through @azure/functions-core and serves
// exactly them; the OpenAPI document and the registrations describe the same routes.

let host: TestHost;
beforeAll(async () => {
  host = await startHost();
}, 60000);
afterAll(async () => {
  if (host && host.process.exitCode === null) await host.stop();
});

interface Registered {
  name: string;
  route: string;
  methods: string[];
  trigger: string;
  authLevel: string;
}

it('serves every function the app registered, with its real metadata', async () => {
  const registered = (await (await fetch(`${host.baseUrl}/admin/functions`)).json()) as Registered[];
  expect(registered.find((f) => f.name === 'putProvider')).toEqual({
    name: 'putProvider',
    route: 'providers/{providerId}',
    methods: ['PUT'],
    trigger: 'httpTrigger',
    authLevel: 'anonymous',
  });
  // The host's order (names ignoring case) puts the catch-all last.
  expect(registered[registered.length - 1].name).toBe('zzNotFound');

  const doc = (await host.request('GET', '/openapi.json', { token: null })).body as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.slice(1)}`))
    .sort();
  // Unpublished: the catch-all and the console's files (not an API).
  // An any-method route (the proxy, MCP) is registered for every method and published for those
  // OpenAPI clients use, its catch-all as a plain parameter.
  const served = registered
    .filter((f) => f.name !== 'zzNotFound' && f.name !== 'console')
    .flatMap((f) => f.methods.filter((m) => ROUTES[f.name as RouteName].method !== '*' || (ANY_METHOD as readonly string[]).includes(m)).map((m) => `${m} ${f.route.replace('{*', '{')}`))
    .sort();
  expect(served).toEqual(documented);
});

it('runs orchestrations in the task hub host.json names, as the extension in Azure does', () => {
  expect(host.output()).toMatch(/durable functions: task hub credman,/);
});

it('matches routes case-insensitively and ignores a trailing slash, as the Functions host does', async () => {
  expect((await host.request('GET', '/HEALTH', { token: null })).status).toBe(200);
  expect((await host.request('GET', '/providers/', {})).status).toBe(200);
});

it('stops cleanly on Ctrl-C', async () => {
  expect(await host.stop()).toBe(0);
});

it('starts with malformed settings (appStart never throws, as a crash-looping worker would) and answers with their names, never their values', async () => {
  const bad = await startHost({ CREDMAN_APP_OBJECT_ID: 'not-a-guid-v4lue', CREDMAN_DEK_CACHE_MAX_ENTRIES: 'lots' });
  try {
    const names = /CREDMAN_APP_OBJECT_ID[\s\S]*CREDMAN_DEK_CACHE_MAX_ENTRIES|CREDMAN_DEK_CACHE_MAX_ENTRIES[\s\S]*CREDMAN_APP_OBJECT_ID/;
    expect(bad.output()).toMatch(names);
    const health = await bad.request('GET', '/health', { token: null });
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'Unhealthy', error: { code: 'InvalidConfiguration', message: expect.stringMatching(names) } });
    const list = await bad.request('GET', '/providers');
    expect(list.status).toBe(500);
    expect(list.body.error.code).toBe('InvalidConfiguration');
    expect(list.body.error.details.map((d: { target: string }) => d.target).sort()).toEqual(['CREDMAN_APP_OBJECT_ID', 'CREDMAN_DEK_CACHE_MAX_ENTRIES']);
    expect(health.text + list.text + bad.output()).not.toMatch(/not-a-guid-v4lue|lots/);
  } finally {
    await bad.stop();
  }
});

it('stops, naming what it waited for, when its storage accepts connections and never answers', async () => {
  const silent = await startSilentServer();
  try {
    const started = Date.now();
    // The durable driver creates its tables at start; every storage request gives up after 10 s.
    const failed = await startHost({ CREDMAN_LOCAL_DURABLE: 'true' }, { connectionString: silent.connectionString, stop: async () => undefined }).catch((err: unknown) => err as Error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as Error).message).toMatch(/^host exited with 1:/);
    expect((failed as Error).message).toContain(
      'durable driver: could not create its tables credmanDurableInstances and credmanDurableHistory: Table storage did not answer POST /devstoreaccount1/Tables within 10 s',
    );
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(silent.accepted()).toBeGreaterThan(0);
  } finally {
    await silent.close();
  }
}, 40_000);
