import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeJwt } from 'jose';
import { DevIssuer } from '../../local/devIssuer';
import { pathParameters, ROUTES as API, type RouteSpec } from '../../shared/api/routes';
import { accessPolicyPutSchema, connectionPutSchema, myConnectionPutSchema, providerPutSchema } from '../../shared/model/schemas';
import { confirmConsentCodeSchema, connectSessionRequestSchema, loginLinksRequestSchema } from '../../shared/model/runtimeSchemas';
import { webhookPutSchema, webhookRotateSecretSchema } from '../../shared/model/webhookSchemas';
import { authCodeConnection, isErrorShape, oauth2Provider, startHost, type TestHost } from '../support/host';

// Every management route gets bad input; every answer must be a 4xx in the API's error shape,
// and no stored row may change.

let host: TestHost;
const ENTRA = { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: '22222222-2222-4222-8222-222222222222' } };

type Ids = { p: string; c: string; a: string; s: string; o: string };
type Route = { name: string; spec: RouteSpec; method: string; path: (ids: Ids) => string; body?: unknown };
const WEBHOOK = { properties: { url: 'http://127.0.0.1:9/hook', events: ['connection.deleted'] } };
const ok: Ids = { p: 'prov', c: 'conn', a: 'pol', s: 'sub', o: 'op1' };
const ID_OF: Record<string, keyof Ids> = { providerId: 'p', connectionId: 'c', policyId: 'a', subscriptionId: 's', operationId: 'o' };

/** A valid body of each request schema the table names; a route whose schema is missing here fails the test below. */
const EXAMPLES = new Map<unknown, unknown>([
  [providerPutSchema, oauth2Provider()],
  [connectionPutSchema, authCodeConnection],
  [myConnectionPutSchema, { properties: { displayName: 'Mine' } }],
  [accessPolicyPutSchema, ENTRA],
  [webhookPutSchema, WEBHOOK],
  [webhookRotateSecretSchema, { keepPreviousSecretForHours: 1 }],
  [loginLinksRequestSchema, { postLoginRedirectUrl: 'https://app.example/done' }],
  [confirmConsentCodeSchema, { consentCode: 'not-a-code' }],
  [connectSessionRequestSchema, { providerId: 'prov', connectionId: 'conn', accessPolicies: [{ id: 'pol', ...ENTRA }], endUser: { id: 'user-1' }, postLoginRedirectUrl: 'https://app.example/done' }],
]);

// Every route of the table that takes a bearer token (the browser and anonymous routes have
// their own tests): built from shared/api/routes.ts, so a new route is attacked here too.
const BEARER = (spec: RouteSpec) => spec.auth === 'admin' || spec.auth === 'connect' || spec.auth === 'policy' || spec.auth === 'person';
const ROUTES: Route[] = (Object.entries(API) as [string, RouteSpec][])
  .filter(([, spec]) => BEARER(spec))
  .map(([name, spec]) => ({
    name,
    spec,
    // Any method (the proxy): attacked with GET, its catch-all a plain path.
    method: spec.method === '*' ? 'GET' : spec.method,
    path: (ids: Ids) => `/${spec.route.replace(/\{\*\w+\}/, 'rest').replace(/\{(\w+)\}/g, (_, param: string) => ids[ID_OF[param]])}`,
    ...(spec.body ? { body: EXAMPLES.get(spec.body) } : {}),
  }));
const WRITES = ROUTES.filter((r) => r.spec.body);
const WITH_IDS = ROUTES.filter((r) => r.path(ok) !== r.path({ p: 'x', c: 'y', a: 'z', s: 'w', o: 'v' }));

it('attacks every admin, policy and person route of the table, each body with a valid example beside the bad ones', () => {
  expect(ROUTES.length).toBe(Object.values(API).filter(BEARER).length);
  expect(ROUTES.length).toBeGreaterThan(20);
  expect(WRITES.filter((r) => r.body === undefined).map((r) => r.name)).toEqual([]);
  expect(Object.keys(ID_OF).sort()).toEqual([...new Set(ROUTES.flatMap((r) => pathParameters(r.spec.route)))].sort());
});

const BAD_IDS: [string, string][] = [
  ['too long', 'a'.repeat(81)],
  ['unicode', encodeURIComponent('prövïdér')],
  ['dot-dot-slash', '..%2F..'],
  ['odata injection', encodeURIComponent("x' or PartitionKey ne '")],
  ['leading dot', '.hidden'],
  ['trailing dash', 'name-'],
  ['space', 'a%20b'],
  ['percent-encoded NUL', 'a%00b'],
];

async function snapshot(): Promise<string> {
  const out: unknown[] = [];
  for (const t of ['credmanProviders', 'credmanConnections', 'credmanAccessPolicies', 'credmanWebhooks']) {
    for await (const e of host.table(t).listEntities()) out.push({ t, ...e });
  }
  return JSON.stringify(out);
}

let before: string;
const answers: { name: string; status: number; body: unknown; nosniff: boolean }[] = [];
async function send(name: string, method: string, path: string, opts: Parameters<TestHost['request']>[2] = {}) {
  const r = await host.request(method, path, opts);
  answers.push({ name, status: r.status, body: r.body, nosniff: r.headers.get('x-content-type-options') === 'nosniff' });
  return r;
}

beforeAll(async () => {
  host = await startHost();
  expect((await host.request('PUT', '/providers/prov', { body: oauth2Provider() })).status).toBe(201);
  expect((await host.request('PUT', '/providers/prov/connections/conn', { body: authCodeConnection })).status).toBe(201);
  expect((await host.request('PUT', '/providers/prov/connections/conn/accessPolicies/pol', { body: ENTRA })).status).toBe(201);
  expect((await host.request('PUT', '/webhooks/sub', { body: WEBHOOK })).status).toBe(201);
  before = await snapshot();
}, 60000);

afterAll(async () => {
  await host?.stop();
});

/** A chunked body (no length declared) of `size` bytes of JSON, as a client streams it; resolves with the status. */
function sendChunked(method: string, path: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${host.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    req.write('{"properties":{"displayName":"');
    for (let sent = 0; sent < size; sent += chunk.length) req.write(chunk);
    req.end('"}}');
  });
}

it('refuses a chunked body over the limit with 413 after reading it to its end, so the next requests are served', async () => {
  // The handler stops keeping a body past 64 KiB but reads the rest: in Azure the host's client sends
  // a request's whole body to the worker before it reads the answer (docs/local-host.md, "HTTP
  // streaming"), and a body left half-read leaves the host's connection to the worker stalled.
  for (let i = 0; i < 3; i++) {
    expect(await sendChunked('PUT', '/providers/prov', 1024 * 1024)).toBe(413);
    expect((await host.request('GET', '/providers/prov')).status).toBe(200);
  }
  expect(await snapshot()).toBe(before);
}, 30_000);

describe('query parameters named as the binding data of the request itself', () => {
  // With streaming, the worker takes a request's headers from the trigger metadata's `Headers`, which a
  // query parameter of that name takes first: `?Headers=` would be the request's headers.
  const injected = () => encodeURIComponent(JSON.stringify({ authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' }));
  for (const route of ROUTES) {
    it(`${route.method} ${route.path(ok)}?Headers= is refused, not authenticated by it`, async () => {
      const r = await fetch(`${host.apiUrl}${route.path(ok)}?Headers=${injected()}`, { method: route.method, ...(route.body ? { body: JSON.stringify(route.body) } : {}) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('ValidationError');
    });
  }
  it.each(['/health', '/openapi.json', '/consent/callback', '/consent/start'])('GET %s?hEaDeRs= is refused', async (path) => {
    expect((await fetch(`${host.apiUrl}${path}?hEaDeRs=${injected()}`)).status).toBe(400);
  });
});

describe('bad bodies on every write', () => {
  const bodies: [string, (r: Route) => Parameters<TestHost['request']>[2], number][] = [
    ['malformed JSON', () => ({ rawBody: '{"properties": {', headers: { 'content-type': 'application/json' } }), 400],
    ['JSON that is not an object', () => ({ rawBody: '[1,2,3]', headers: { 'content-type': 'application/json' } }), 400],
    ['an empty body', () => ({ rawBody: '', headers: { 'content-type': 'application/json' } }), 400],
    ['invalid UTF-8', () => ({ rawBody: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), headers: { 'content-type': 'application/json' } }), 400],
    ['a non-JSON content type', (r) => ({ rawBody: JSON.stringify(r.body), headers: { 'content-type': 'text/plain' } }), 415],
    ['no content type', (r) => ({ rawBody: JSON.stringify(r.body), headers: {} }), 415],
    ['a 1 MiB body', () => ({ rawBody: `{"properties":{"displayName":"${'x'.repeat(1024 * 1024)}"}}`, headers: { 'content-type': 'application/json' } }), 413],
    ['an unknown top-level field', (r) => ({ body: { ...(r.body as object), extra: 1 } }), 400],
    ['an unknown nested field', (r) => ({ body: { properties: { ...(r.body as { properties: object }).properties, colour: 'blue' } } }), 400],
    ['a mistyped field', (r) => ({ body: { properties: { ...(r.body as { properties: object }).properties, displayName: 42, tenantId: 42 } } }), 400],
    ['properties of the wrong type', () => ({ body: { properties: 'nope' } }), 400],
    ['a null body', () => ({ body: null }), 400],
  ];
  for (const route of WRITES) {
    it.each(bodies)(`${route.method} ${route.path(ok)} with %s`, async (name, make, status) => {
      const r = await send(name, route.method, route.path(ok), make(route));
      expect(r.status).toBe(status);
      expect(isErrorShape(r.body)).toBe(true);
    });
  }
});

describe('bad identifiers on every route', () => {
  for (const route of WITH_IDS) {
    it.each(BAD_IDS)(`${route.method} ${route.path(ok)} with a %s identifier`, async (name, bad) => {
      for (const key of ['p', 'c', 'a', 's', 'o'] as const) {
        const path = route.path({ ...ok, [key]: bad });
        if (path === route.path(ok)) continue;
        const r = await send(`${name} as ${key}`, route.method, path, route.body ? { body: route.body } : {});
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect(isErrorShape(r.body)).toBe(true);
        if (r.status === 400) expect(r.body.error.code).toBe('InvalidIdentifier');
      }
    });
    // An empty segment in the middle matches no route, not even the catch-all (ASP.NET's route
    // matcher): the host's bare 404, as in Azure. An empty last segment of a GET is the collection
    // (the host ignores a trailing slash), so only writes are checked there, with the app's answer.
    it(`${route.method} ${route.path(ok)} with empty identifiers`, async () => {
      for (const key of ['p', 'c', 'a', 's', 'o'] as const) {
        const path = route.path({ ...ok, [key]: '' });
        if (path === route.path(ok) || (route.method === 'GET' && path.endsWith('/'))) continue;
        const r = await send(`empty ${key}`, route.method, path, route.body ? { body: route.body } : {});
        if (path.includes('//')) {
          expect([r.status, r.text]).toEqual([404, '']);
        } else {
          expect(r.status).toBeGreaterThanOrEqual(400);
          expect(r.status).toBeLessThan(500);
          expect(isErrorShape(r.body)).toBe(true);
        }
      }
    });
  }
});

describe('bad tokens on every route', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  let tokens: [string, string | null][] = [];
  beforeAll(async () => {
    const good = await host.token({ admin: true });
    const claims = decodeJwt(good);
    const other = await DevIssuer.loadOrCreate(mkdtempSync(join(tmpdir(), 'credman-other-')), host.issuer.issuer);
    const stranger = await DevIssuer.loadOrCreate(mkdtempSync(join(tmpdir(), 'credman-stranger-')), 'http://localhost:1/not-trusted');
    const publicPem = JSON.stringify(host.issuer.jwks().keys[0]);
    const now = Math.floor(Date.now() / 1000);
    tokens = [
      ['missing', null],
      ['not a bearer scheme', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
      ['garbage', 'Bearer not.a.jwt'],
      ['alg none', `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
      ['HS256 signed with the public key', `Bearer ${await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: host.issuer.kid }).sign(new TextEncoder().encode(publicPem))}`],
      ['expired', `Bearer ${await host.issuer.signClaims({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 })}`],
      ['not yet valid', `Bearer ${await host.issuer.signClaims({ ...claims, nbf: now + 3600, exp: now + 7200 })}`],
      ['wrong audience', `Bearer ${await host.token({ admin: true, audience: 'api://someone-else' })}`],
      ['wrong issuer', `Bearer ${await stranger.mint({ admin: true })}`],
      ['unknown kid', `Bearer ${await other.mint({ admin: true })}`],
      ['no admin role', `Bearer ${await host.token({})}`],
    ];
  });

  for (const route of ROUTES) {
    it(`${route.name}: ${route.method} ${route.path(ok)} rejects every bad token`, async () => {
      for (const [name, header] of tokens) {
        // A token without the admin role is a caller like any other on the token route (no policy: 403 there too);
        // on a person route it is a person, who has nothing here (an empty list, 404, 204, 403 SelfServiceDisabled).
        const body = route.body;
        const r = await send(name, route.method, route.path(ok), {
          token: null,
          ...(header ? { headers: { authorization: header } } : {}),
          ...(body ? { body } : {}),
        });
        // On the MCP endpoint any authenticated caller is let in (its tools check): a GET is 405 there.
        if (name === 'no admin role' && (route.spec.auth === 'person' || route.name === 'mcp')) {
          expect({ name, status: r.status }).toEqual({ name, status: r.status < 500 && r.status !== 401 ? r.status : 'authenticated, and no 5xx' });
          continue;
        }
        expect({ name, status: r.status }).toEqual({ name, status: name === 'no admin role' ? 403 : 401 });
        expect(isErrorShape(r.body)).toBe(true);
        expect(r.text).not.toContain(header?.slice(7, 40) ?? '\u0000');
      }
    });
  }
});

describe('afterwards', () => {
  it('answered zero 5xx and left every stored row unchanged', async () => {
    expect(answers.length).toBeGreaterThan(300);
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect(await snapshot()).toBe(before);
  });

  it("sent X-Content-Type-Options: nosniff with every answer of the app (the host's bare 404s are not the app's)", () => {
    expect(answers.filter((a) => !a.nosniff && !(a.status === 404 && a.body === undefined)).map((a) => `${a.name}: ${a.status}`)).toEqual([]);
  });
});
