import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// An HTTP proxy in front of a real server (the identity provider, storage, the durable client
// API) that answers chosen requests with a fault instead. Faults other than `resetAfterForward`
// never reach the target, so a faulted refresh does not consume a rotating refresh token.

export type Fault =
  /** 500 with an OAuth error body (`server_error`). */
  | 'status500'
  /** 503 with an OAuth error body (`temporarily_unavailable`); `Retry-After` only when `retryAfterSeconds` is given. */
  | 'status503'
  /** 429 with `Retry-After: retryAfterSeconds` (1 by default). */
  | 'status429'
  /** Reads the request and never answers; the socket is dropped on `close()`. */
  | 'timeout'
  /** Destroys the socket without a response. */
  | 'reset'
  /** 200, `application/json`, a truncated JSON body. */
  | 'malformedJson'
  /** 502 with an HTML body, as a gateway in front of the provider would. */
  | 'htmlError'
  /** Forwards, lets the target answer, then destroys the socket without relaying the answer. */
  | 'resetAfterForward';

export interface InjectOptions {
  /** How many matching requests get this fault; 1 by default. */
  times?: number;
  /** Only requests whose path (and query) starts with this, e.g. `/token`. */
  pathPrefix?: string;
  /** Only requests with this method (any by default). */
  method?: string;
  /** `Retry-After` of `status429` (1 by default) and, when given, of `status503`. */
  retryAfterSeconds?: number;
  /** Replaces the JSON body of `status500`/`status503`/`status429` (e.g. credman's own error shape). */
  body?: unknown;
}

interface Queued {
  fault: Fault;
  remaining: number;
  pathPrefix: string;
  method?: string;
  retryAfterSeconds: number;
  retryAfterGiven: boolean;
  body?: unknown;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const CANNED: Partial<Record<Fault, (q: Queued) => { status: number; headers: Record<string, string>; body: string }>> = {
  status500: (q) => json(500, q.body ?? { error: 'server_error', error_description: 'injected fault' }),
  status503: (q) => json(503, q.body ?? { error: 'temporarily_unavailable', error_description: 'injected fault' }, q.retryAfterGiven ? { 'retry-after': String(q.retryAfterSeconds) } : {}),
  status429: (q) => json(429, q.body ?? { error: 'slow_down', error_description: 'injected fault' }, { 'retry-after': String(q.retryAfterSeconds) }),
  malformedJson: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"access_token":"eyJhbGciOi' }),
  htmlError: () => ({
    status: 502,
    headers: { 'content-type': 'text/html' },
    body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>',
  }),
};

export class FaultProxy {
  /** Requests seen, faulted or not. */
  requests = 0;
  /** Requests that reached the target (including `resetAfterForward`). */
  forwarded = 0;
  readonly url: string;
  readonly #target: URL;
  readonly #server: Server;
  readonly #agent = new Agent({ keepAlive: true });
  #queue: Queued[] = [];

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('request', (req, res) => this.#handle(req, res));
  }

  static async start(targetBaseUrl: string): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    return new FaultProxy(server, new URL(targetBaseUrl));
  }

  inject(fault: Fault, opts: InjectOptions = {}): void {
    this.#queue.push({
      fault,
      remaining: opts.times ?? 1,
      pathPrefix: opts.pathPrefix ?? '',
      ...(opts.method === undefined ? {} : { method: opts.method.toUpperCase() }),
      retryAfterSeconds: opts.retryAfterSeconds ?? 1,
      retryAfterGiven: opts.retryAfterSeconds !== undefined,
      ...(opts.body === undefined ? {} : { body: opts.body }),
    });
  }

  clear(): void {
    this.#queue = [];
  }

  /** Faults injected and not yet consumed. */
  get pendingFaults(): number {
    return this.#queue.reduce((n, q) => n + q.remaining, 0);
  }

  async close(): Promise<void> {
    this.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    this.#agent.destroy();
    await closed;
  }

  #take(method: string, path: string): Queued | undefined {
    const queued = this.#queue.find((q) => path.startsWith(q.pathPrefix) && (q.method === undefined || q.method === method));
    if (queued && --queued.remaining === 0) this.#queue.splice(this.#queue.indexOf(queued), 1);
    return queued;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    const queued = this.#take(req.method ?? 'GET', req.url ?? '/');
    if (!queued) {
      return this.#forward(
        req,
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, upstream.rawHeaders);
          upstream.pipe(res);
        },
        res,
      );
    }
    switch (queued.fault) {
      case 'resetAfterForward':
        return this.#forward(
          req,
          (upstream) => {
            upstream.resume();
            upstream.once('end', () => req.socket.destroy());
          },
          res,
        );
      case 'reset':
        req.socket.destroy();
        return;
      case 'timeout':
        req.resume();
        return;
      default: {
        const canned = CANNED[queued.fault]!(queued);
        req.resume();
        req.once('end', () => res.writeHead(canned.status, canned.headers).end(canned.body));
      }
    }
  }

  #forward(req: IncomingMessage, onResponse: (upstream: IncomingMessage) => void, res: ServerResponse): void {
    this.forwarded += 1;
    const base = this.#target.pathname.replace(/\/$/, '');
    const upstreamReq = httpRequest(
      {
        protocol: this.#target.protocol,
        hostname: this.#target.hostname,
        port: this.#target.port,
        method: req.method,
        path: `${base}${req.url ?? '/'}`,
        headers: { ...req.headers, host: this.#target.host },
        agent: this.#agent,
      },
      onResponse,
    );
    upstreamReq.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('fault proxy: target unreachable');
      else res.destroy();
    });
    req.pipe(upstreamReq);
  }
}
