import type { BindingInfo, Registration } from './coreApi';

// HTTP routing as the Functions host does it (docs/local-host.md, "Sources"): every HTTP function
// is mapped in the order of the host's function list, sorted by name ignoring case, into one
// ASP.NET RouteCollection that tries them in that order; the first whose template and method
// match wins. There is no literal-before-parameter precedence: a `{*path}` catch-all named before
// a function swallows that function's requests, exactly as in Azure.
//
// Templates: literal segments match ignoring case, `{name}` one non-empty segment, `{name?}` an
// optional last segment, `{*name}` the rest (empty too). Constraints (`{id:int}`) and defaults
// (`{id=1}`) are refused at start rather than half-understood: credman uses neither.

export interface HttpRoute {
  registration: Registration;
  trigger: BindingInfo;
  methods: string[];
  template: string;
  match(segments: string[]): Record<string, string> | undefined;
}

type Segment = { kind: 'literal'; text: string } | { kind: 'param'; name: string; optional: boolean } | { kind: 'catchAll'; name: string };

/** The host's function-name rule (`Utility.IsValidFunctionName`): a letter, then letters, digits, `_` or `-`, 128 at most. */
const FUNCTION_NAME = /^[a-z][a-z0-9_-]{0,127}$/i;

/** All methods, as the host maps a trigger without `methods` (no method constraint). */
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT'];

export class RouteConfigurationError extends Error {
  override readonly name = 'RouteConfigurationError';
}

function parse(template: string, functionName: string): Segment[] {
  const segments = template.replace(/^\/+|\/+$/g, '').split('/');
  return segments.map((s, i): Segment => {
    if (!s.includes('{') && !s.includes('}')) {
      if (s === '') throw new RouteConfigurationError(`Function "${functionName}": route "${template}" has an empty segment.`);
      return { kind: 'literal', text: s.toLowerCase() };
    }
    const m = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(\?)?\}$/.exec(s);
    if (!m) throw new RouteConfigurationError(`Function "${functionName}": route segment "${s}" of "${template}" is not supported by the local host (only literals, {name}, {name?} and {*name}).`);
    if (m[1]) {
      if (i !== segments.length - 1) throw new RouteConfigurationError(`Function "${functionName}": the catch-all "${s}" must be the last segment of "${template}".`);
      return { kind: 'catchAll', name: m[2] };
    }
    if (m[3] && i !== segments.length - 1) throw new RouteConfigurationError(`Function "${functionName}": the optional "${s}" must be the last segment of "${template}".`);
    return { kind: 'param', name: m[2], optional: Boolean(m[3]) };
  });
}

/** The host's order: function names compared ordinally ignoring case (.NET OrdinalIgnoreCase compares upper-cased). */
export function compareFunctionNames(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The routes of the app's HTTP functions, in the order the host tries them. Throws, naming the
 * function, what the host would not load: an invalid function name, or two functions with the
 * same template and a common method (the host's "route conflicts" error).
 */
export function httpRoutes(registrations: Registration[]): HttpRoute[] {
  const routes: HttpRoute[] = [];
  const byTemplate = new Map<string, HttpRoute[]>();
  for (const registration of [...registrations].sort((a, b) => compareFunctionNames(a.metadata.name, b.metadata.name))) {
    const trigger = Object.values(registration.metadata.bindings).find((b) => b.type.toLowerCase() === 'httptrigger');
    if (!trigger) continue;
    const name = registration.metadata.name;
    if (!FUNCTION_NAME.test(name) || name.toLowerCase() === 'host') throw new RouteConfigurationError(`"${name}" is not a valid function name (a letter, then letters, digits, _ or -; not "host").`);
    const template = (trigger.route ?? '').trim() || name;
    // ScriptHost.ValidateHttpFunction: a route starting with "admin" or "runtime" (a plain prefix test) is refused.
    if (/^(admin|runtime)/i.test(template.replace(/^\/+/, '')))
      throw new RouteConfigurationError(`Function "${name}": the route "${template}" conflicts with the host's built-in routes (admin, runtime).`);
    const segments = parse(template, name);
    const route: HttpRoute = {
      registration,
      trigger,
      template,
      methods: (trigger.methods ?? ALL_METHODS).map((m) => m.toUpperCase()),
      match: (path) => matchSegments(segments, path),
    };
    const key = template.replace(/^\/+|\/+$/g, '').toLowerCase();
    for (const other of byTemplate.get(key) ?? []) {
      if (other.methods.some((m) => route.methods.includes(m))) {
        throw new RouteConfigurationError(`Function "${name}": its route "${template}" conflicts with the route of function "${other.registration.metadata.name}".`);
      }
    }
    byTemplate.set(key, [...(byTemplate.get(key) ?? []), route]);
    routes.push(route);
  }
  return routes;
}

/** A request path under the route prefix as ASP.NET's PathTokenizer splits it: a trailing `/` is no segment. */
export function pathSegments(path: string): string[] {
  const segments = path === '' || path === '/' ? [] : path.split('/');
  if (segments.length && segments[segments.length - 1] === '') segments.pop();
  return segments;
}

/** The first route, in the host's order, whose method and template match; its parameters. */
export function resolveRoute(routes: HttpRoute[], method: string, segments: string[]): { route: HttpRoute; params: Record<string, string> } | undefined {
  // An empty segment (`a//b`) matches no template, a catch-all included (RoutePatternMatcher).
  if (segments.includes('')) return undefined;
  for (const route of routes) {
    if (!route.methods.includes(method)) continue;
    const params = route.match(segments);
    if (params) return { route, params };
  }
  return undefined;
}

function matchSegments(template: Segment[], path: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i];
    if (t.kind === 'catchAll') {
      params[t.name] = path.slice(i).join('/');
      return params;
    }
    const s = path[i];
    if (s === undefined) return t.kind === 'param' && t.optional && i === template.length - 1 ? params : undefined;
    if (t.kind === 'literal') {
      if (s.toLowerCase() !== t.text) return undefined;
    } else {
      if (s === '') return undefined;
      params[t.name] = s;
    }
  }
  return path.length === template.length ? params : undefined;
}
