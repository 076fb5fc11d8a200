import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { InvalidIdentifierError, InvalidQueryError, UnauthenticatedError, ValidationError } from '../../shared/errors';
import { pathParameters, ROUTES, type AuthKind, type CallerKind, type RouteName, type RouteSpec } from '../../shared/api/routes';
import { parseIdentifier } from '../../shared/model/identifiers';
import type { Caller } from '../../shared/identity/caller';
import type { Services } from '../../shared/services';
import { handle, paging, readJson, type Handler } from './http';
import { durableClientInput } from '../workflows/common';
import { authorize, getServices } from './runtime';

// Registers the route table (shared/api/routes.ts): one `app.http` per entry, with the auth of its
// kind, its path parameters validated, its paging and JSON body parsed, and the one error renderer
// (HTML for browser routes, JSON for the rest). Handlers receive what their entry declares.

// Bodies stream through the worker (issue 19); set here, where every `app.http` passes, since the worker's glob of `main` has no fixed file order.
app.setup({ enableHttpStream: true });

type Spec<K extends RouteName> = (typeof ROUTES)[K];

type ParamNames<R extends string> = R extends `${string}{${infer P}}${infer Rest}` ? (P extends `*${string}` ? never : P) | ParamNames<Rest> : never;

type AuthOf<A extends AuthKind> = A extends CallerKind ? { services: Services; caller: Caller } : A extends 'browser' ? { services: Services } : object;

/** What a handler gets: the request, its invocation, and what its route entry declares. */
export type Call<K extends RouteName> = {
  request: HttpRequest;
  context: InvocationContext;
  params: Record<ParamNames<Spec<K>['route']>, string>;
  ifMatch: string | undefined;
  /** `If-None-Match: *` on a conditional PUT: create only (412 when it exists). */
  createOnly: boolean;
  body: Spec<K> extends { body: infer B extends z.ZodType } ? z.output<B> : undefined;
  page: Spec<K> extends { paged: true } ? { top: number; skipToken?: string } : undefined;
} & AuthOf<Spec<K>['auth']>;

export type Handlers = { [K in RouteName]: (call: Call<K>) => Promise<HttpResponseInit> };

interface AnyCall {
  request: HttpRequest;
  context: InvocationContext;
  params: Record<string, string>;
  ifMatch: string | undefined;
  createOnly: boolean;
  body: unknown;
  page: { top: number; skipToken?: string } | undefined;
  services?: Services;
  caller?: Caller;
}

const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/**
 * Registers every route of the table with its handler. A handler without an entry does not compile
 * (and is refused at load, should a cast get it past the compiler).
 */
export function register<H extends Handlers>(handlers: H & Record<Exclude<keyof H, RouteName>, never>): void {
  const extra = Object.keys(handlers).filter((name) => !Object.hasOwn(ROUTES, name));
  if (extra.length) throw new Error(`No route is declared for ${extra.join(', ')}.`);
  for (const name of Object.keys(ROUTES) as RouteName[]) {
    const spec: RouteSpec = ROUTES[name];
    app.http(name, {
      methods: spec.method === '*' ? [...ALL_METHODS] : [spec.method],
      route: spec.route,
      authLevel: 'anonymous', // credman authenticates callers itself (shared/identity)
      ...(spec.durable ? { extraInputs: [durableClientInput] } : {}),
      handler: httpHandler(name, (handlers as Handlers)[name] as never),
    });
  }
}

/** The function the host invokes for a route: what `register` installs (tests call it directly). */
export function httpHandler<K extends RouteName>(name: K, handler: (call: Call<K>) => Promise<HttpResponseInit>): Handler {
  const spec: RouteSpec = ROUTES[name];
  const params = pathParameters(spec.route);
  const run = handler as unknown as (call: AnyCall) => Promise<HttpResponseInit>;
  const invoke: Handler = async (request, context) => {
    refuseBindingNames(request);
    const ifMatch = request.headers.get('if-match') ?? undefined;
    const call: AnyCall = { request, context, params: {}, ifMatch, createOnly: createOnlyOf(spec, request, ifMatch), body: undefined, page: undefined };
    if (spec.auth !== 'anonymous') Object.assign(call, await authorize(spec.auth, request).catch((err: unknown) => challenged(err, spec)));
    for (const p of params) call.params[p] = parameter(spec, p, request.params[p]);
    if (spec.paged) call.page = paging(request);
    if (spec.body) call.body = await readJson(request, spec.body, { optional: spec.bodyOptional });
    return run(call);
  };
  return handle(invoke, spec.auth === 'browser' ? 'html' : 'json');
}

/**
 * With streaming, the worker takes a request's headers from the trigger metadata's `Headers`, which
 * a query parameter of that name (any case) takes first: `?Headers={"authorization":…}` would *be* the
 * request's headers (docs/local-host.md, "HTTP streaming"). Refused before anything reads a header.
 * (`Query` is taken the same way, but the library ignores it.)
 */
function refuseBindingNames(request: HttpRequest): void {
  for (const name of request.query.keys()) {
    if (name.toLowerCase() === 'headers') throw new InvalidQueryError(name, `The query parameter '${name}' is not accepted: Headers is a reserved name.`);
  }
}

/** A 401 of a route with RFC 9728 metadata names the metadata's URL, so that clients (MCP's) find the issuers to sign in with. */
async function challenged(err: unknown, spec: RouteSpec): Promise<never> {
  if (!spec.resourceMetadata || !(err instanceof UnauthenticatedError)) throw err;
  const { settings } = await getServices();
  throw new UnauthenticatedError(err.message, `${settings.publicBaseUrl}/api/${spec.resourceMetadata}`);
}

/**
 * `If-None-Match: *` on a conditional PUT (RFC 9110 §13.1.2): create, never replace. Only `*` means
 * something for a write; another value, or both preconditions at once, is a 400 rather than ignored.
 */
function createOnlyOf(spec: RouteSpec, request: HttpRequest, ifMatch: string | undefined): boolean {
  const value = request.headers.get('if-none-match');
  if (value === null || spec.method !== 'PUT' || !spec.conditional) return false;
  if (value.trim() !== '*')
    throw new ValidationError('If-None-Match takes only * on a write (create only).', [{ code: 'InvalidValue', target: 'If-None-Match', message: 'Send If-None-Match: * to create only.' }]);
  if (ifMatch !== undefined)
    throw new ValidationError('Send If-Match or If-None-Match, not both.', [{ code: 'InvalidValue', target: 'If-None-Match', message: 'If-Match replaces, If-None-Match: * creates.' }]);
  return true;
}

function parameter(spec: RouteSpec, name: string, value: string | undefined): string {
  const schema = spec.params?.[name];
  if (!schema) return parseIdentifier(value, name);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidIdentifierError(name);
  return parsed.data;
}
