import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findTemplate } from '../../../shared/oauth/catalogue';
import type { Resolver } from '../../../shared/net/destination';
import { IdpClient, IdpDestinationError, IdpUnavailableError, OAuthGrantError, parseRetryAfter, type IdpClientOptions } from '../../../shared/oauth/idpClient';

// The outbound client against a scripted token endpoint on loopback (no sleeping: waits are recorded).

let server: Server;
let url: string;
let script: Array<{ status: number; body: string; headers?: Record<string, string> }> = [];
let seen = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    seen++;
    const next = script.shift() ?? { status: 500, body: '{}' };
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers }).end(next.body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
});
afterAll(() => new Promise((ok) => server.close(ok)));
beforeEach(() => {
  seen = 0;
});

const template = findTemplate('oauth2')!;
const request = () => ({ url, headers: {}, body: 'grant_type=client_credentials' });
// The scripted endpoint is on loopback: private networks allowed, unless a test says otherwise.
const client = (waits: number[], retries = 2, destination: IdpClientOptions['destination'] = { allowPrivateNetworks: true }) =>
  new IdpClient({ timeoutMs: 2000, retries, destination, sleep: async (ms) => void waits.push(ms), random: () => 0.5 });

describe('IdpClient', () => {
  it('retries transient answers, honouring Retry-After, then returns the token', async () => {
    script = [
      { status: 503, body: '{"error":"temporarily_unavailable"}' },
      { status: 429, body: '{}', headers: { 'retry-after': '2' } },
      { status: 200, body: '{"access_token":"at","token_type":"bearer","expires_in":60}' },
    ];
    const waits: number[] = [];
    const token = await client(waits).requestToken(template, request());
    expect(token.accessToken).toBe('at');
    expect(seen).toBe(3);
    expect(waits[0]).toBeGreaterThanOrEqual(100);
    expect(waits[1]).toBe(2000);
  });

  it('does not retry a refusal, and carries its error code without the body', async () => {
    script = [{ status: 400, body: '{"error":"invalid_grant","error_description":"refresh token rt-SECRET revoked"}' }];
    const err = await client([])
      .requestToken(template, request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthGrantError);
    expect((err as OAuthGrantError).error).toBe('invalid_grant');
    expect(JSON.stringify({ ...(err as object), message: (err as Error).message })).not.toContain('revoked');
    expect(seen).toBe(1);
  });

  it('passes on only an OAuth-shaped error code: free text in `error` becomes unknown_error', async () => {
    script = [{ status: 400, body: '{"error":"db password is hunter2","message":"internal service body"}' }];
    const err = (await client([])
      .requestToken(template, request())
      .catch((e: unknown) => e)) as OAuthGrantError;
    expect(err.error).toBe('unknown_error');
    expect(err.message).not.toMatch(/hunter2|internal service/);
  });

  it('gives up after its retries with an IdpUnavailableError, and on a Retry-After too long to wait', async () => {
    script = [
      { status: 500, body: '' },
      { status: 502, body: '<html>' },
      { status: 503, body: '' },
    ];
    await expect(client([]).requestToken(template, request())).rejects.toBeInstanceOf(IdpUnavailableError);
    expect(seen).toBe(3);
    seen = 0;
    script = [{ status: 429, body: '{}', headers: { 'retry-after': '120' } }];
    await expect(client([]).requestToken(template, request())).rejects.toBeInstanceOf(IdpUnavailableError);
    expect(seen).toBe(1);
  });

  it('treats a garbled 200 as transient and ambiguous', async () => {
    script = [{ status: 200, body: '{"access_token": ' }];
    const err = (await client([], 0)
      .requestToken(template, request())
      .catch((e: unknown) => e)) as IdpUnavailableError;
    expect(err.ambiguous).toBe(true);
  });
});

describe('IdpClient destination guard (the guard of every outbound call)', () => {
  const strict = { allowPrivateNetworks: false };
  const port = () => new URL(url).port;
  // A name that resolves to loopback, as an attacker's DNS (or a rebinding one) would answer.
  const toLoopback: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
  const ok = { status: 200, body: '{"access_token":"at","token_type":"bearer","expires_in":60}' };

  it('refuses a loopback token endpoint where private networks are refused: nothing is sent, nothing retried', async () => {
    script = [ok];
    const err = await client([], 2, strict)
      .requestToken(template, request())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpDestinationError);
    expect(err).toMatchObject({ code: 'ProviderMisconfigured', status: 409 });
    expect((err as IdpDestinationError).details[0].code).toBe('SchemeNotAllowed');
    const literal = await client([], 2, strict)
      .requestToken(template, { ...request(), url: `https://127.0.0.1:${port()}/token` })
      .catch((e: unknown) => e);
    expect((literal as IdpDestinationError).details[0].code).toBe('DestinationNotAllowed');
    expect(seen).toBe(0);
  });

  it('refuses a name that resolves to loopback at connect time (DNS rebinding), for token, metadata and registration calls', async () => {
    const c = client([], 2, { ...strict, resolve: toLoopback });
    const err = await c.requestToken(template, { ...request(), url: `https://idp.example:${port()}/token` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpDestinationError);
    expect((err as IdpDestinationError).details[0].code).toBe('DestinationNotAllowed');
    await expect(c.json('GET', `https://idp.example:${port()}/.well-known/openid-configuration`)).rejects.toBeInstanceOf(IdpDestinationError);
    await expect(c.json('POST', `https://idp.example:${port()}/register`, { client_name: 'credman' })).rejects.toBeInstanceOf(IdpDestinationError);
    await expect(c.json('GET', `http://127.0.0.1:${port()}/.well-known/openid-configuration`)).rejects.toBeInstanceOf(IdpDestinationError);
    expect(seen).toBe(0);
  });

  it('lets an allow-listed private identity provider through, by name or by address, http included', async () => {
    script = [ok, ok];
    const byName = client([], 0, { ...strict, allowedPrivateHosts: ['idp.corp.internal'], resolve: toLoopback });
    expect((await byName.requestToken(template, { ...request(), url: `http://idp.corp.internal:${port()}/token` })).accessToken).toBe('at');
    const byRange = client([], 0, { ...strict, allowedPrivateHosts: ['127.0.0.0/8'] });
    expect((await byRange.requestToken(template, request())).accessToken).toBe('at');
    expect(seen).toBe(2);
    // The allow-list names that host only: another name resolving to loopback is still refused.
    await expect(byName.requestToken(template, { ...request(), url: `https://other.example:${port()}/token` })).rejects.toBeInstanceOf(IdpDestinationError);
    expect(seen).toBe(2);
  });

  it('follows no redirect: a 3xx is an answer, and its Location is never called', async () => {
    let redirected = 0;
    const target = createServer((req, res) => {
      redirected++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(ok.body);
    });
    await new Promise<void>((done) => target.listen(0, '127.0.0.1', done));
    try {
      const location = `http://127.0.0.1:${(target.address() as AddressInfo).port}/token`;
      script = [{ status: 307, body: '', headers: { location } }];
      const err = await client([], 0)
        .requestToken(template, request())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OAuthGrantError);
      expect((err as OAuthGrantError).error).toBe('invalid_response');
      script = [{ status: 302, body: '', headers: { location } }];
      expect((await client([], 0).json('GET', url)).status).toBe(302);
      expect(redirected).toBe(0);
    } finally {
      await new Promise((done) => target.close(done));
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.UTC(2026, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2026, 0, 1))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
