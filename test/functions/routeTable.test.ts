import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Registration } from '../../local/host/coreApi';
import { ANY_METHOD, anyMethodOperationId, openApiDocument } from '../../shared/api/openapi';
import { pathParameters, ROUTES, type RouteSpec } from '../../shared/api/routes';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { loadApp } from '../local/durable/support';

// The route table (shared/api/routes.ts) is the one declaration of the HTTP API: the functions the
// app registers and the published OpenAPI document are derived from it and must say the same.

const table = Object.entries(ROUTES) as [string, RouteSpec][];
let http: Registration[];
const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

// Handlers called here get no services: the routes' own parsing is under test, not the system.
jest.doMock('../../functions/lib/runtime', () => ({ getServices: () => Promise.reject(new Error('no services here')), authorize: async () => ({ services: {}, caller: {} }) }));

beforeAll(() => {
  const app = loadApp();
  const dir = join(__dirname, '..', '..', 'functions');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')))
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the app registers itself on load, as the worker loads it
    require(join(dir, f));
  http = app.core.registrations.filter((r) => Object.values(r.metadata.bindings).some((b) => b.type === 'httpTrigger'));
});

it('registers exactly one HTTP function per entry, with its method, route and inputs', () => {
  const registered = http.map((r) => {
    const bindings = Object.values(r.metadata.bindings);
    const trigger = bindings.find((b) => b.type === 'httpTrigger')!;
    return {
      name: r.metadata.name,
      methods: trigger.methods,
      route: trigger.route,
      authLevel: trigger.authLevel,
      durable: bindings.some((b) => b.type === 'durableClient'),
    };
  });
  const declared = table.map(([name, spec]) => ({
    name,
    methods: spec.method === '*' ? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] : [spec.method],
    route: spec.route,
    authLevel: 'anonymous',
    durable: spec.durable === true,
  }));
  expect(registered.sort(byName)).toEqual(declared.sort(byName));
});

it('publishes every entry but the catch-all, under its function name, with its parameters, body and security', () => {
  const doc = openApiDocument() as {
    paths: Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string }[]; requestBody?: { required: boolean }; security?: unknown }>>;
  };
  const published = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      name: op.operationId,
      method: method.toUpperCase(),
      route: path.slice(1),
      path: op.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [],
      body: op.requestBody ? (op.requestBody.required ? 'required' : 'optional') : 'none',
      secured: op.security !== undefined,
    })),
  );
  const declared = table
    .filter(([, spec]) => !spec.unpublished)
    // Any method: one operation per method, named after it; the catch-all is a path parameter.
    .flatMap(([name, spec]) =>
      spec.method === '*' ? ANY_METHOD.map((m): [string, string, RouteSpec] => [anyMethodOperationId(name, m), m, spec]) : [[name, spec.method, spec] as [string, string, RouteSpec]],
    )
    .map(([name, method, spec]) => ({
      name,
      method,
      route: spec.route.replace('{*', '{'),
      path: [...pathParameters(spec.route), ...[...spec.route.matchAll(/\{\*(\w+)\}/g)].map((m) => m[1])],
      body: spec.body ? (spec.bodyOptional ? 'optional' : 'required') : 'none',
      secured: spec.auth !== 'browser' && spec.auth !== 'anonymous',
    }));
  expect(published.sort(byName)).toEqual(declared.sort(byName));
  // Only the catch-all and the console's files (not an API) stay out of the contract.
  expect(table.filter(([, spec]) => spec.unpublished).map(([name]) => name)).toEqual(['console', 'zzNotFound']);
});

it('is the routes table of docs/api.md, row for row (the contract people read)', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs/api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('| Method | Route | Function | Auth |'));
  const lines = section.split('\n').slice(2);
  const rows = lines
    .slice(
      0,
      lines.findIndex((line) => !line.startsWith('|')),
    )
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/^`|`$/g, '')),
    );
  const documented = rows.map(([method, route, name, auth]) => ({ name, method, route, auth }));
  const declared = table.map(([name, spec]) => ({ name, method: spec.method, route: spec.route, auth: spec.auth }));
  expect(documented.sort(byName)).toEqual(declared.sort(byName));
});

it('lets exactly these routes skip the admin role (every other entry is admin)', () => {
  // A route that leaves this list must be reviewed for who may call it; badInput.test.ts sends every
  // bad token to each admin and policy route.
  expect(table.filter(([, spec]) => spec.auth !== 'admin').map(([name, spec]) => `${name}:${spec.auth}`)).toEqual([
    'confirmConsentCode:connect',
    'getToken:policy',
    'proxy:policy',
    'createConnectSession:connect',
    'listMyProviders:person',
    'listMyConnections:person',
    'getMyConnection:person',
    'putMyConnection:person',
    'deleteMyConnection:person',
    'getMyLoginLinks:person',
    'confirmMyConsentCode:person',
    'mcp:policy',
    'mcpResourceMetadata:anonymous',
    'consentStart:browser',
    'consentCallback:browser',
    'consentConfirm:browser',
    'health:anonymous',
    'console:anonymous',
    'openApi:anonymous',
    'zzNotFound:anonymous',
  ]);
});

it('publishes the contract reviewed with the last change to it (update: npx jest -u test/functions/routeTable.test.ts)', () => {
  expect(openApiDocument()).toMatchSnapshot();
});

describe('an optional JSON body (getLoginLinks)', () => {
  let echo: ReturnType<typeof import('../../functions/lib/api').httpHandler>;
  // Loaded in beforeAll, after the runtime mock and after the app (loadApp): functions/lib/api
  // calls app.setup on load, which looks for the worker's core API once.
  beforeAll(() => {
    /* eslint-disable @typescript-eslint/no-require-imports -- after the runtime mock */
    const { httpHandler } = require('../../functions/lib/api') as typeof import('../../functions/lib/api');
    const { json } = require('../../functions/lib/http') as typeof import('../../functions/lib/http');
    /* eslint-enable @typescript-eslint/no-require-imports */
    echo = httpHandler('getLoginLinks', async ({ body }) => json(200, body));
  });
  const send = async (headers: Record<string, string>, body?: string) => {
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/providers/p/connections/c/getLoginLinks',
      params: { providerId: 'p', connectionId: 'c' },
      headers,
      ...(body === undefined ? {} : { body: { string: body } }),
    });
    const r = await echo(request, new InvocationContext({ functionName: 'getLoginLinks' }));
    return { status: r.status, body: r.jsonBody as unknown };
  };

  it('is {} when the request has no type and no bytes, validated as any body', async () => {
    expect(await send({})).toEqual({ status: 200, body: {} });
    expect(await send({ 'content-length': '0' })).toEqual({ status: 200, body: {} });
  });

  it('is refused, not dropped, when bytes come without a type (a chunked body has no Content-Length)', async () => {
    expect((await send({}, JSON.stringify({ postLoginRedirectUrl: 'https://app.example/done' }))).status).toBe(415);
    expect(await send({}, ' ')).toMatchObject({ status: 415 });
  });

  it('is parsed and validated when typed', async () => {
    expect(await send({ 'content-type': 'application/json' }, '{}')).toEqual({ status: 200, body: {} });
    expect((await send({ 'content-type': 'application/json' }, '')).status).toBe(400);
    expect((await send({ 'content-type': 'application/json' }, '{"nope":1}')).status).toBe(400);
  });
});
