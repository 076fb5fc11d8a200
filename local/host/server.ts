import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HttpRequest, HttpResponse, InvocationContext, type Cookie, type HttpResponseInit } from '@azure/functions';
import type { HttpRoute } from './routes';

// Serves the app's HTTP functions under /api the way the Functions host does: it matches the
// route, builds HttpRequest and InvocationContext from @azure/functions, calls the registered
// handler and writes its HttpResponse back.

const ROUTE_PREFIX = '/api';
/** The Functions host's request size limit. */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

export type ExtraRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

/** `table.routes` is read per request: the app registers its functions after the port is bound. */
export function createHostServer(table: { routes: HttpRoute[] }, extra: ExtraRoute[] = []): Server {
  return createServer((req, res) => {
    serve(table.routes, extra, req, res).catch((err: unknown) => {
      console.error(`[host] request failed: ${err instanceof Error ? err.name : String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
}

async function serve(routes: HttpRoute[], extra: ExtraRoute[], req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  let found: { route: HttpRoute; params: Record<string, string> } | undefined;
  for (const route of routes) {
    if (!route.methods.includes(method)) continue;
    const params = route.match(segments);
    if (params) {
      found = { route, params };
      break;
    }
  }
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
  const request = new HttpRequest({
    method,
    url: url.toString(),
    headers,
    query: Object.fromEntries(url.searchParams),
    params: found.params,
    ...(body.length ? { body: { bytes: body } } : {}),
  });
  const { metadata, handler } = found.route.registration;
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: metadata.name,
    options: { trigger: { ...found.route.trigger, name: Object.keys(metadata.bindings)[0] } as never },
    logHandler: (level, ...args) => log(level, metadata.name, args),
  });
  let result: unknown;
  try {
    result = await handler(request, context);
  } catch (err) {
    context.error(`Function "${metadata.name}" threw ${err instanceof Error ? err.name : typeof err}`);
    res.writeHead(500).end();
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
