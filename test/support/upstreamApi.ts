import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeBytes } from '../../bench/writeBytes';

// A SaaS API stand-in for the token proxy's tests and bench: it accepts a bearer token only when
// the identity provider's introspection endpoint (RFC 7662, oidc-provider's) says it is active,
// and records what reached it. Routes under /v1: `echo` (what it saw, as JSON), `limited` (429 with
// rate-limit headers), `hostile` (headers that would act on credman's origin), `bytes?n=` (n bytes,
// streamed), `upload` (counts the body), `reflect?pad=` (pad bytes, then the request's headers, token
// included, as debugging endpoints and some error pages do), `spoof` (headers only credman may set),
// `tooLarge` (413 at once and the connection closed, the body unread, as servers refusing an upload do).

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  bodySha256: string;
}

export interface UpstreamApi {
  url: string;
  seen: SeenRequest[];
  /** From now on, this token is refused as a revoked one would be (the identity provider would revoke its whole grant). */
  refuse(token: string): void;
  stop(): Promise<void>;
}

export interface Introspection {
  /** The identity provider's introspection endpoint. */
  endpoint: string;
  clientId: string;
  clientSecret: string;
}

export async function startUpstreamApi(introspection: Introspection | null): Promise<UpstreamApi> {
  const seen: SeenRequest[] = [];
  const refused = new Set<string>();
  const active = async (authorization: string | undefined): Promise<boolean> => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token || refused.has(token)) return false;
    if (!introspection) return true;
    const basic = Buffer.from(`${encodeURIComponent(introspection.clientId)}:${encodeURIComponent(introspection.clientSecret)}`).toString('base64');
    const r = await fetch(introspection.endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    return r.ok && ((await r.json()) as { active?: boolean }).active === true;
  };
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/tooLarge')) {
      seen.push({ method: req.method ?? '', url: req.url, headers: req.headers, bodyBytes: 0, bodySha256: '' });
      res.writeHead(413, { connection: 'close', 'content-type': 'application/json' }).end('{"message":"too large"}', () => req.socket.destroy());
      return;
    }
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => {
      bodyBytes += c.length;
      hash.update(c);
    });
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://upstream');
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes, bodySha256: hash.digest('hex') });
        if (!(await active(req.headers.authorization))) {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
          return;
        }
        switch (url.pathname) {
          case '/v1/limited':
            res
              .writeHead(429, { 'retry-after': '7', 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1767225600', 'content-type': 'application/json' })
              .end('{"message":"slow down"}');
            return;
          case '/v1/hostile':
            res
              .writeHead(200, {
                'set-cookie': 'session=upstream; Path=/',
                'strict-transport-security': 'max-age=63072000',
                'access-control-allow-origin': '*',
                'content-security-policy': "default-src *; script-src 'unsafe-inline'",
                'content-type': 'text/html',
                'x-upstream': 'kept',
              })
              .end('<script>alert(1)</script>');
            return;
          case '/v1/reflect': {
            const pad = 'x'.repeat(Number(url.searchParams.get('pad') ?? '0'));
            res
              .writeHead(200, { 'content-type': `text/plain; echo=${encodeURIComponent(req.headers.authorization ?? '')}`, 'x-echo-authorization': req.headers.authorization ?? '' })
              .end(`${pad}${req.headers.authorization ?? ''} ${encodeURIComponent(req.headers.authorization ?? '')} ${JSON.stringify(req.headers)}`);
            return;
          }
          case '/v1/spoof':
            // Headers only credman may set on a proxied answer.
            res.writeHead(200, { 'credman-token-refreshed': 'true', 'x-correlation-id': 'upstream', 'content-type': 'text/plain' }).end('spoof');
            return;
          case '/v1/bytes': {
            writeBytes(res, Number(url.searchParams.get('n') ?? '0'));
            return;
          }
          default:
            res
              .writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining': '4999' })
              .end(JSON.stringify({ method: req.method, url: req.url, bodyBytes, bodySha256: seen.at(-1)?.bodySha256 }));
        }
      })().catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    refuse: (token) => void refused.add(token),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
