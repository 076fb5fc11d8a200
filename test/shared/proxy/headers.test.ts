import { CORRELATION_HEADER, callerResponseHeaders, correlationIdOf, upstreamRequestHeaders } from '../../../shared/proxy/headers';

// What crosses the proxy: the caller's credentials for credman, this hop's headers and the
// platform's notes about the client never reach the upstream; its Set-Cookie never reaches the caller.

it("drops the caller's credentials, hop-by-hop headers (and those Connection names) and the front end's headers; keeps the rest", () => {
  const out = upstreamRequestHeaders(
    [
      ['Authorization', 'Bearer credman-token'],
      ['Cookie', 'session=1'],
      ['Host', 'credman.example'],
      ['Connection', 'keep-alive, X-Secret-Hop'],
      ['X-Secret-Hop', 'x'],
      ['Keep-Alive', 'timeout=5'],
      ['Transfer-Encoding', 'chunked'],
      ['TE', 'trailers'],
      ['Upgrade', 'websocket'],
      ['Proxy-Authorization', 'Basic x'],
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-ARR-LOG-ID', 'x'],
      ['X-MS-CLIENT-PRINCIPAL', 'eyJ...'],
      ['Client-IP', '203.0.113.9:1234'],
      ['Forwarded', 'for=203.0.113.9'],
      ['X-Original-URL', '/api/proxy/p/c/x'],
      ['Expect', '100-continue'],
      ['Accept', 'application/vnd.github+json'],
      ['Content-Type', 'application/json'],
      ['Content-Length', '12'],
      ['X-GitHub-Api-Version', '2022-11-28'],
      ['If-None-Match', '"abc"'],
    ],
    'corr-1',
  );
  expect(out).toEqual({
    accept: 'application/vnd.github+json',
    'content-type': 'application/json',
    'content-length': '12',
    'x-github-api-version': '2022-11-28',
    'if-none-match': '"abc"',
    [CORRELATION_HEADER]: 'corr-1',
  });
});

it('joins repeated request headers and replaces any correlation id the caller put in a header of its own', () => {
  expect(
    upstreamRequestHeaders(
      [
        ['Accept', 'a'],
        ['accept', 'b'],
        ['X-Correlation-Id', 'spoof'],
      ],
      'c',
    ),
  ).toEqual({ accept: 'a, b', [CORRELATION_HEADER]: 'c' });
});

// Added to every answer: the sandbox, and the proxy's Via.
const SANDBOXED = { 'content-security-policy': "sandbox; default-src 'none'", 'x-content-type-options': 'nosniff', via: '1.1 credman' };

it("passes the upstream's status headers back unchanged but for hop-by-hop headers and Set-Cookie", () => {
  const out = callerResponseHeaders(
    {
      'content-type': 'application/json',
      'content-length': '2',
      'content-encoding': 'gzip',
      'retry-after': '30',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '1700000000',
      'set-cookie': ['a=1', 'b=2'],
      connection: 'close, x-hop',
      'x-hop': '1',
      'transfer-encoding': 'chunked',
      link: ['<https://api.github.com/x?page=2>; rel="next"'],
    },
    'corr-2',
  );
  expect(out).toEqual({
    'content-type': 'application/json',
    'content-length': '2',
    'content-encoding': 'gzip',
    'retry-after': '30',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': '1700000000',
    link: '<https://api.github.com/x?page=2>; rel="next"',
    ...SANDBOXED,
    [CORRELATION_HEADER]: 'corr-2',
  });
});

it("drops what would act on credman's origin, and sandboxes every answer: an upstream's HTML cannot run there", () => {
  const out = callerResponseHeaders(
    {
      'Content-Type': 'text/html',
      'Strict-Transport-Security': 'max-age=63072000; includeSubDomains; preload',
      'Clear-Site-Data': '"*"',
      'Alt-Svc': 'h3=":443"',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Credentials': 'true',
      'Content-Security-Policy': "script-src 'unsafe-inline'",
      'X-Frame-Options': 'ALLOWALL',
      'X-Content-Type-Options': 'sniff-please',
      'Cross-Origin-Opener-Policy': 'unsafe-none',
      Refresh: '0; url=https://evil.example/',
      ETag: '"v1"',
    },
    'c',
  );
  expect(out).toEqual({ 'content-type': 'text/html', etag: '"v1"', ...SANDBOXED, [CORRELATION_HEADER]: 'c' });
});

it('keeps a sane correlation id the caller sent and makes one otherwise', () => {
  expect(correlationIdOf('req-123:abc')).toBe('req-123:abc');
  for (const bad of [undefined, null, '', 'has space', 'x'.repeat(129), 'new\nline']) expect(correlationIdOf(bad)).toMatch(/^[0-9a-f-]{36}$/);
});

// Review: the platform's other notes about the client and credman's own credentials.
it("drops App Service's and Front Door's client address headers and the Functions host's key headers", () => {
  const out = upstreamRequestHeaders(
    [
      ['X-Client-IP', '203.0.113.9'],
      ['X-Client-Port', '50123'],
      ['X-Azure-ClientIP', '203.0.113.9'],
      ['X-Azure-SocketIP', '203.0.113.9'],
      ['X-FD-HealthProbe', '1'],
      ['X-Functions-Key', 'host-key'],
      ['X-ZUMO-AUTH', 'easy-auth-token'],
      ['Accept', 'a'],
    ],
    'c',
  );
  expect(out).toEqual({ accept: 'a', [CORRELATION_HEADER]: 'c' });
});

it('drops what every Connection header names, not only the first', () => {
  const out = upstreamRequestHeaders(
    [
      ['Connection', 'keep-alive'],
      ['Connection', 'X-Secret-Hop'],
      ['X-Secret-Hop', 'x'],
    ],
    'c',
  );
  expect(out).toEqual({ [CORRELATION_HEADER]: 'c' });
  expect(callerResponseHeaders({ Connection: 'x-hop', 'x-hop': '1' }, 'c')).toEqual({ ...SANDBOXED, [CORRELATION_HEADER]: 'c' });
});

it("adds credman to the upstream's Via (RFC 9110 §7.6.3)", () => {
  expect(callerResponseHeaders({ Via: '1.1 varnish' }, 'c').via).toBe('1.1 varnish, 1.1 credman');
});
