import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, InvocationContext, type Cookie, type HttpRequestInit, type HttpResponseInit } from '@azure/functions';
import type { BindingInfo, FunctionMetadata } from './coreApi';
import { LazyNativeRequest } from './nativeRequest';
import { resolveRoute, type HttpRoute } from './routes';

// Serves the app's HTTP functions under /api the way the Functions host does: it matches the
// route, builds HttpRequest and InvocationContext from @azure/functions, calls the registered
// handler and writes its HttpResponse back.

const ROUTE_PREFIX = '/api';
/** The Functions host's request size limit. */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Values for input bindings other than the trigger, by binding type, as the host's extensions
 * supply them (the durable driver gives `durableClient` its client data). The handler reads them
 * with `context.extraInputs.get(...)`, as in Azure.
 */
export type InputProviders = Record<string, (binding: BindingInfo & { name: string }) => unknown>;

/** `table.routes` is read per request: the app registers its functions after the port is bound. */
export function createHostServer(table: { routes: HttpRoute[] }, extra: ExtraRoute[] = [], inputs: InputProviders = {}): Server {
  return createServer((req, res) => {
    serve(table.routes, extra, inputs, req, res).catch((err: unknown) => {
      console.error(`[host] request failed: ${err instanceof Error ? err.name : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
}

const inputBindingsOf = new WeakMap<FunctionMetadata, (BindingInfo & { name: string })[]>();

/** A function's non-trigger input bindings, named, as the worker lists them in `context.options.extraInputs`. */
function inputBindings(metadata: FunctionMetadata): (BindingInfo & { name: string })[] {
  let list = inputBindingsOf.get(metadata);
  if (!list) {
    list = Object.entries(metadata.bindings)
      .filter(([, b]) => b.direction === 'in' && !b.type.toLowerCase().endsWith('trigger'))
      .map(([name, b]) => ({ ...b, name }));
    inputBindingsOf.set(metadata, list);
  }
  return list;
}

async function serve(routes: HttpRoute[], extra: ExtraRoute[], inputs: InputProviders, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    segments = rawPath.slice(ROUTE_PREFIX.length + 1).split('/').map(decodeURIComponent);
  } catch {
    res.writeHead(400).end();
    return;
  }
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  const method = (req.method ?? 'GET').toUpperCase();
  const found = resolveRoute(routes, method, segments);
  if (!found) {
    res.writeHead(404).end();
    return;
  }
  const body = await readBody(req);
  if (body === 'tooLarge') {
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
    query: url.search ? Object.fromEntries(url.searchParams) : {},
    params: found.params,
    // An init field of the library (its streaming path passes the native request this way).
    nativeRequest: new LazyNativeRequest(href, method, headers, body.length ? body : undefined) as unknown as Request,
  } as HttpRequestInit);
  const { metadata, handler } = found.route.registration;
  const extraInputs = inputBindings(metadata);
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: metadata.name,
    options: { trigger: { ...found.route.trigger, name: Object.keys(metadata.bindings)[0] } as never, ...(extraInputs.length ? { extraInputs: extraInputs as never } : {}) },
    logHandler: (level, ...args) => log(level, metadata.name, args),
  });
  for (const binding of extraInputs) {
    const provide = inputs[binding.type];
    if (provide) context.extraInputs.set(binding.name, provide(binding));
  }
  let result: unknown;
  try {
    result = await handler(request, context);
  } catch (err) {
    context.error(`Function "${metadata.name}" threw ${err instanceof Error ? err.name : typeof err}`);
    res.writeHead(500).end();
    return;
  }
  const plain = result instanceof HttpResponse ? undefined : plainResponse((result ?? {}) as HttpResponseInit);
  if (plain) {
    res.writeHead(plain.status, plain.headers);
    res.end(method === 'HEAD' ? undefined : plain.body);
    return;
  }
  const response = result instanceof HttpResponse ? result : new HttpResponse((result ?? {}) as HttpResponseInit);
  const out = Buffer.from(await response.arrayBuffer());
  const outHeaders: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => (outHeaders[k] = v));
  // The Functions host turns `cookies` into Set-Cookie headers; so does this one.
  if (response.cookies.length) outHeaders['set-cookie'] = response.cookies.map(setCookie);
  res.writeHead(response.status, outHeaders);
  res.end(method === 'HEAD' ? undefined : out);
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
  for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
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
  if (init.cookies?.length) headers['set-cookie'] = init.cookies.map(setCookie);
  return { status, headers, ...(body === undefined ? {} : { body }) };
}

function setCookie(c: Cookie): string {
  const parts = [`${c.name}=${c.value}`];
  if (c.path) parts.push(`Path=${c.path}`);
  if (c.domain) parts.push(`Domain=${c.domain}`);
  if (c.maxAge !== undefined) parts.push(`Max-Age=${c.maxAge}`);
  if (c.expires) parts.push(`Expires=${new Date(c.expires).toUTCString()}`);
  if (c.secure) parts.push('Secure');
  if (c.httpOnly) parts.push('HttpOnly');
  if (c.sameSite) parts.push(`SameSite=${c.sameSite}`);
  return parts.join('; ');
}

function readBody(req: IncomingMessage): Promise<Buffer | 'tooLarge'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_REQUEST_BYTES ? 'tooLarge' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function log(level: string, functionName: string, args: unknown[]): void {
  const line = `[${functionName}] ${args.map(String).join(' ')}`;
  if (level === 'error' || level === 'critical') console.error(line);
  else if (level === 'warning') console.warn(line);
  else if (level !== 'trace' && level !== 'debug') console.info(line);
}
