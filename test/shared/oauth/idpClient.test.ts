import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { findTemplate } from '../../../shared/oauth/catalogue';
import { IdpClient, IdpUnavailableError, OAuthGrantError, parseRetryAfter } from '../../../shared/oauth/idpClient';

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
const client = (waits: number[], retries = 2) => new IdpClient({ timeoutMs: 2000, retries, sleep: async (ms) => void waits.push(ms), random: () => 0.5 });

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
    const err = await client([]).requestToken(template, request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OAuthGrantError);
    expect((err as OAuthGrantError).error).toBe('invalid_grant');
    expect(seen).toBe(1);
  });

  it('gives up after its retries with an IdpUnavailableError, and on a Retry-After too long to wait', async () => {
    script = [{ status: 500, body: '' }, { status: 502, body: '<html>' }, { status: 503, body: '' }];
    await expect(client([]).requestToken(template, request())).rejects.toBeInstanceOf(IdpUnavailableError);
    expect(seen).toBe(3);
    seen = 0;
    script = [{ status: 429, body: '{}', headers: { 'retry-after': '120' } }];
    await expect(client([]).requestToken(template, request())).rejects.toBeInstanceOf(IdpUnavailableError);
    expect(seen).toBe(1);
  });

  it('treats a garbled 200 as transient and ambiguous', async () => {
    script = [{ status: 200, body: '{"access_token": ' }];
    const err = (await client([], 0).requestToken(template, request()).catch((e: unknown) => e)) as IdpUnavailableError;
    expect(err.ambiguous).toBe(true);
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
