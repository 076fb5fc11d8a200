import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Registration } from '../../local/host/coreApi';
import { httpRoutes, pathSegments, resolveRoute, RouteConfigurationError, type HttpRoute } from '../../local/host/routes';
import { openApiDocument } from '../../shared/api/openapi';
import { loadApp } from './durable/support';

// The Functions host maps HTTP functions in name order (ignoring case) and the first whose template
// and method match wins: no literal-before-parameter precedence. A catch-all named `notFound`
// answered every PUT, `openApi` and `rotateKeysNow` in Azure while this host, ranking literals
// first, served them. Here the real app's registrations go through the host's order.

function httpFunction(name: string, route: string, methods?: string[]): Registration {
  return {
    metadata: { name, bindings: { req: { type: 'httpTrigger', direction: 'in', route, ...(methods ? { methods } : {}) } } },
    handler: () => undefined,
  };
}

const reach = (routes: HttpRoute[], method: string, path: string) => resolveRoute(routes, method, pathSegments(path))?.route.registration.metadata.name;

describe("the host's route order", () => {
  it('tries functions by name ignoring case, first match wins, whatever the templates', () => {
    const routes = httpRoutes([httpFunction('Items', 'items/{id}', ['GET']), httpFunction('getRecent', 'items/recent', ['GET']), httpFunction('all', '{*path}')]);
    expect(routes.map((r) => r.registration.metadata.name)).toEqual(['all', 'getRecent', 'Items']);
    // `all` sorts first, so its catch-all answers everything, literal routes included.
    expect(reach(routes, 'GET', 'items/recent')).toBe('all');
    const named = httpRoutes([httpFunction('Items', 'items/{id}', ['GET']), httpFunction('getRecent', 'items/recent', ['GET']), httpFunction('zAll', '{*path}')]);
    expect(reach(named, 'GET', 'items/recent')).toBe('getRecent');
    expect(reach(named, 'GET', 'items/7')).toBe('Items');
    expect(reach(named, 'DELETE', 'items/7')).toBe('zAll');
  });

  it('compares names as .NET OrdinalIgnoreCase does (upper-cased: `_` after letters)', () => {
    const routes = httpRoutes([httpFunction('a_b', 'x/{p}', ['GET']), httpFunction('AZ', 'x/y', ['GET'])]);
    expect(routes.map((r) => r.registration.metadata.name)).toEqual(['AZ', 'a_b']);
  });

  it('refuses what the host would not load: conflicting routes, invalid names, templates it cannot read', () => {
    expect(() => httpRoutes([httpFunction('one', 'Items/{id}', ['GET', 'PUT']), httpFunction('two', 'items/{id}', ['put'])])).toThrow(RouteConfigurationError);
    expect(() => httpRoutes([httpFunction('one', 'items/{id}', ['GET']), httpFunction('two', 'items/{id}', ['PUT'])])).not.toThrow();
    expect(() => httpRoutes([httpFunction('1st', 'x')])).toThrow(/not a valid function name/);
    expect(() => httpRoutes([httpFunction('c', 'items/{id:int}')])).toThrow(/not supported/);
    expect(() => httpRoutes([httpFunction('c', '{*rest}/more')])).toThrow(/last segment/);
    expect(() => httpRoutes([httpFunction('host', 'x')])).toThrow(/not a valid function name/);
    expect(() => httpRoutes([httpFunction('c', 'administrators/{id}')])).toThrow(/built-in routes/);
    expect(() => httpRoutes([httpFunction('c', '/Runtime/x')])).toThrow(/built-in routes/);
  });

  it('matches no template, a catch-all included, when the path has an empty segment; a trailing slash is none', () => {
    const routes = httpRoutes([httpFunction('a', 'x/{id}', ['GET']), httpFunction('z', '{*path}')]);
    expect(reach(routes, 'GET', 'x/1/')).toBe('a');
    expect(reach(routes, 'GET', 'x//1')).toBeUndefined();
    expect(reach(routes, 'GET', '')).toBe('z');
  });
});

describe('the real app under the host order', () => {
  let routes: HttpRoute[];
  beforeAll(() => {
    const app = loadApp();
    const dir = join(__dirname, '..', '..', 'functions');
    for (const f of readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .sort())
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the app registers itself on load, as the worker loads it
      require(join(dir, f));
    routes = httpRoutes(app.core.registrations);
  });

  /** A template as OpenAPI publishes it: a catch-all `{*path}` is the parameter `{path}`. */
  const published = (template: string) => template.replace('{*', '{');

  const operations = () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, { operationId: string }>> };
    return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), template: path.slice(1) })));
  };

  it('reaches, for every route of the API, its own function, even with parameter values that spell other routes', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(20);
    // Every literal of every template, as a parameter value: `operations/rotateKeys` must still be
    // getOperation for GET, `providers/x/connections/token` still getConnection, and so on.
    const literals = [...new Set(ops.flatMap((o) => o.template.split('/').filter((s) => !s.startsWith('{'))))];
    const misses: string[] = [];
    for (const op of ops) {
      const owner = routes.find((r) => published(r.template).toLowerCase() === op.template.toLowerCase() && r.methods.includes(op.method));
      expect({ op, owner: owner?.registration.metadata.name }).toEqual({ op, owner: expect.any(String) });
      const params = op.template.split('/').filter((s) => s.startsWith('{'));
      // Every combination: an overlap may need different literals in different parameters.
      const combinations = params.reduce<string[][]>((acc) => acc.flatMap((c) => ['x1', ...literals].map((v) => [...c, v])), [[]]);
      for (const values of combinations) {
        let path = op.template;
        params.forEach((p, i) => (path = path.replace(p, values[i])));
        // A path two documented operations could both claim (same method) is a defect of the API itself.
        const claimants = ops.filter((o) => o.method === op.method && routes.find((r) => published(r.template) === o.template)!.match(pathSegments(path)));
        if (claimants.length !== 1) misses.push(`${op.method} ${path}: documented by ${claimants.map((c) => c.template).join(' and ')}`);
        const reached = reach(routes, op.method, path);
        if (reached !== owner!.registration.metadata.name) misses.push(`${op.method} ${path} reaches ${reached}, not ${owner!.registration.metadata.name}`);
      }
    }
    expect(misses).toEqual([]);
  });

  it("reaches the console's files for any path under console/, and nothing else", () => {
    for (const path of ['console', 'console/', 'console/assets/index-abc.js', 'console/providers/p1', 'console/config.json'])
      expect({ path, reached: reach(routes, 'GET', path) }).toEqual({ path, reached: 'console' });
    expect(reach(routes, 'POST', 'console/x')).toBe('zzNotFound');
    expect(reach(routes, 'GET', 'consoles')).toBe('zzNotFound');
  });

  it('answers anything else with the catch-all (the API error shape), including known paths with other methods', () => {
    for (const [method, path] of [
      ['GET', 'nope'],
      ['PATCH', 'providers/x'],
      ['DELETE', 'openapi.json'],
      ['GET', ''],
      ['POST', 'providers/x/connections/y/nope'],
    ]) {
      expect({ method, path, reached: reach(routes, method, path) }).toEqual({ method, path, reached: 'zzNotFound' });
    }
  });
});
