import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, type Cookie, type HttpRequestInit, type HttpResponseInit } from '@azure/functions';
import { readBody } from './body';
import { byType, consoleLog, invocationContext, type InputProviders } from './invocation';
import { LazyNativeRequest } from './nativeRequest';
import { pathSegments, resolveRoute, type HttpRoute } from './routes';
import { invokeStreaming, type StreamWorker } from './stream';

// Serves the app's HTTP functions under /api the way the Functions host does: it matches the
// route, then either forwards the request to the worker's proxy and runs the invocation through the
// library (an app that streams, local/host/stream.ts), or builds HttpRequest and
// InvocationContext from @azure/functions, calls the registered handler and writes its
// HttpResponse back (an app that does not, as the host's RPC path does).

const ROUTE_PREFIX = '/api';

export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

const log = consoleLog();

/** What the host serves; read per request: the app registers its functions (and says whether it streams) after the port is bound. */
export interface HostTable {
  routes: HttpRoute[];
  stream?: StreamWorker;
}

/** `table` is read per request: the app registers its functions after the port is bound. */
export function createHostServer(table: HostTable, extra: ExtraRoute[] = [], inputs: InputProviders = {}): Server {
  return createServer((req, res) => {
    serve(table, extra, inputs, req, res).catch((err: unknown) => {
      console.error(`[host] request failed: ${err instanceof Error ? err.name : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
}

async function serve(table: HostTable, extra: ExtraRoute[], inputs: InputProviders, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = req.headers.host ?? 'localhost';
  const url = new URL(req.url ?? '/', `http://${host}`);
  if (extra.some((route) => route(req, res))) return;
  const rawPath = url.pathname;
  if (rawPath !== ROUTE_PREFIX && !rawPath.startsWith(`${ROUTE_PREFIX}/`)) {
    res.writeHead(404).end();
    return;
  }
  let segments: string[];
  try {
    segments = pathSegments(rawPath.slice(ROUTE_PREFIX.length + 1)).map(decodeURIComponent);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const found = resolveRoute(table.routes, method, segments);
  if (!found) {
    res.writeHead(404).end();
    return;
  }
  if (table.stream) {
    const query = foldedQuery(url.searchParams, (_, last) => last);
    await invokeStreaming({ worker: table.stream, registration: found.route.registration, params: found.params, query, provide: byType(inputs), log }, req, res);
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413).end();
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const href = url.href;
  const request = new HttpRequest({
    method,
    url: href,
    headers,
    query: foldedQuery(url.searchParams, (seen, next) => `${seen},${next}`),
    params: found.params,
    // An init field of the library (its streaming path passes the native request this way).
    nativeRequest: new LazyNativeRequest(href, method, headers, body.length ? body : undefined) as unknown as Request,
  } as HttpRequestInit);
  const { metadata, handler } = found.route.registration;
  const context = invocationContext(metadata, byType(inputs), log);
  let result: unknown;
  try {
    result = await handler(request, context);
  } catch (err) {
    context.error(`Function "${metadata.name}" threw ${err instanceof Error ? err.name : typeof err}`);
    res.writeHead(500).end();
    return;
  }
  // The library's toRpcHttp: null/undefined is no output (the host answers 200, empty); any other
  // non-object fails the invocation; a status outside 200-599 makes its Response throw.
  if (result !== undefined && result !== null && typeof result !== 'object') {
    context.error(`Function "${metadata.name}" returned a ${typeof result}, not an HTTP response`);
    res.writeHead(500).end();
    return;
  }
  const status = result instanceof HttpResponse ? result.status : ((result as HttpResponseInit | null)?.status ?? 200);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    context.error(`Function "${metadata.name}" returned status ${String(status)}, outside 200-599`);
    res.writeHead(500).end();
    return;
  }
  const plain = result instanceof HttpResponse ? undefined : plainResponse(result ?? {});
  if (plain) {
    res.writeHead(plain.status, plain.headers);
    res.end(method === 'HEAD' ? undefined : plain.body);
    return;
  }
  const response = result instanceof HttpResponse ? result : new HttpResponse(result ?? {});
  const out = Buffer.from(await response.arrayBuffer());
  // Copied entry by entry into a plain map, as toRpcHttp does: of several Set-Cookie headers only
  // the last survives; `cookies` are then appended by the host, one Set-Cookie each.
  const outHeaders: Record<string, string | string[]> = {};
  for (const [k, v] of response.headers.entries()) outHeaders[k] = v;
  withCookies(outHeaders, response.cookies);
  res.writeHead(response.status, outHeaders);
  res.end(method === 'HEAD' ? undefined : out);
}

/** The host appends each of `cookies` as its own Set-Cookie, after any Set-Cookie header the function set. */
function withCookies(headers: Record<string, string | string[]>, cookies: Cookie[] | undefined): void {
  if (!cookies?.length) return;
  const existing = headers['set-cookie'];
  headers['set-cookie'] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), ...cookies.map(setCookie)];
}

/**
 * The query the host hands the worker, one value per key: ASP.NET gathers keys ignoring case (the
 * first spelling kept); repeated values are `merge`d. The RPC request's query joins them with ","
 * (`StringValues.ToString`); the trigger metadata, which streaming uses, keeps the last
 * (sdk-extensions `HttpRequestExtensions.GetQueryParameterDictionary`, "last one wins").
 */
function foldedQuery(params: URLSearchParams, merge: (seen: string, next: string) => string): Record<string, string> {
  const query = new Map<string, { key: string; value: string }>();
  for (const [k, v] of params) {
    const seen = query.get(k.toLowerCase());
    query.set(k.toLowerCase(), seen ? { key: seen.key, value: merge(seen.value, v) } : { key: k, value: v });
  }
  return Object.fromEntries([...query.values()].map((e) => [e.key, e.value]));
}

const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * A plain HttpResponseInit with a JSON, string or no body, serialised as HttpResponse would (JSON
 * gets `application/json` unless set, text `text/plain;charset=UTF-8`) without building an undici
 * Response per call. Anything else (streams, buffers, forms) goes through HttpResponse.
 */
function plainResponse(init: HttpResponseInit): { status: number; headers: Record<string, string | string[]>; body?: string } | undefined {
  if (init.body !== undefined && typeof init.body !== 'string') return undefined;
  if (init.headers !== undefined && (typeof init.headers !== 'object' || init.headers instanceof Headers || Array.isArray(init.headers))) return undefined;
  const status = init.status ?? 200;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
  let body: string | undefined;
  if (!NULL_BODY.has(status)) {
    if (init.jsonBody !== undefined) {
      body = JSON.stringify(init.jsonBody);
      headers['content-type'] ??= 'application/json';
    } else if (init.body !== undefined) {
      body = init.body;
      headers['content-type'] ??= 'text/plain;charset=UTF-8';
    }
  }
  withCookies(headers, init.cookies);
  return { status, headers, ...(body === undefined ? {} : { body }) };
}

const SAME_SITE: Record<string, string> = { Lax: 'lax', Strict: 'strict', None: 'none' };

/** .NET's Uri.EscapeDataString: everything but the RFC 3986 unreserved characters is escaped. */
function escapeDataString(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A cookie as the host writes it: the library maps sameSite Lax/Strict/None (anything else means no
 * attribute), the host makes CookieOptions (path "/" unless given) and ASP.NET's
 * ResponseCookies.Append escapes the value and writes lowercase attributes in its own order.
 */
function setCookie(c: Cookie): string {
  const parts = [`${c.name}=${escapeDataString(c.value)}`];
  if (c.expires !== undefined) parts.push(`expires=${new Date(c.expires).toUTCString()}`);
  if (c.maxAge !== undefined) parts.push(`max-age=${Math.trunc(c.maxAge)}`);
  if (c.domain) parts.push(`domain=${c.domain}`);
  parts.push(`path=${c.path || '/'}`);
  if (c.secure) parts.push('secure');
  const sameSite = c.sameSite && SAME_SITE[c.sameSite];
  if (sameSite) parts.push(`samesite=${sameSite}`);
  if (c.httpOnly) parts.push('httponly');
  return parts.join('; ');
}
