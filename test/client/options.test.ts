import { CredmanClient, CredmanError, parseRetryAfter } from '../../client/src';
import { backoffMs } from '../../client/src/retry';
import { TokenCache } from '../../client/src/tokenCache';

// What needs no server: options checked at construction, Retry-After forms, the backoff's
// bounds, the cache's margin. No I/O, no clock but the one passed in.

const platformToken = async (): Promise<string> => 'x';
const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) };

describe('options are checked when the client is built', () => {
  it.each([
    [{ baseUrl: 'not a url' }, /absolute URL/],
    [{ baseUrl: 'ftp://credman.example' }, /http\(s\)/],
    [{ baseUrl: 'http://credman.example' }, /https/],
    [{ baseUrl: 'https://u:p@credman.example' }, /credentials/],
    [{ baseUrl: 'https://credman.example', credential, platformToken }, /not both/],
    [{ baseUrl: 'https://credman.example', platformToken, scope: 'api://x/.default' }, /scope/],
    [{ baseUrl: 'https://credman.example', retries: -1 }, /retries/],
    [{ baseUrl: 'https://credman.example', timeoutMs: 0 }, /timeoutMs/],
    [{ baseUrl: 'https://credman.example', minValidity: 1.5 }, /minValidity/],
  ])('%j', (options, message) => {
    expect(() => new CredmanClient(options as never)).toThrow(message);
  });

  it('allows plain http to loopback, or anywhere when told', () => {
    expect(() => new CredmanClient({ baseUrl: 'http://localhost:7071', credential })).not.toThrow();
    expect(() => new CredmanClient({ baseUrl: 'http://credman.internal', credential, allowInsecureHttp: true })).not.toThrow();
  });

  it('refuses identifiers the API would refuse (and `..`) before any request', async () => {
    const fetch = jest.fn();
    const client = new CredmanClient({ baseUrl: 'https://credman.example', credential, fetch });
    for (const id of ['..', 'a/b', '', 'x'.repeat(81)]) {
      await expect(client.getToken('p', id)).rejects.toMatchObject({ code: 'InvalidIdentifier' });
    }
    await expect(client.getToken('p', 'c', { minValidity: -1 })).rejects.toThrow(TypeError);
    expect(fetch).not.toHaveBeenCalled();
  });
});

describe('Retry-After', () => {
  it('reads delay-seconds and HTTP dates', () => {
    const now = Date.parse('2026-11-01T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Sun, 01 Nov 2026 10:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Sun, 01 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('backoff', () => {
  it('lies between half and all of the doubled step, capped', () => {
    expect([backoffMs(0, 500, 8000, () => 0), backoffMs(0, 500, 8000, () => 1)]).toEqual([250, 500]);
    expect([backoffMs(3, 500, 8000, () => 0), backoffMs(3, 500, 8000, () => 1)]).toEqual([2000, 4000]);
    expect(backoffMs(10, 500, 8000, () => 1)).toBe(8000);
  });
});

describe('TokenCache', () => {
  const token = (expiresAt: number) => ({ accessToken: 'a', tokenType: 'Bearer', expiresOn: new Date(expiresAt), claims: {} });

  it('serves until expiresOn - minValidity', () => {
    const cache = new TokenCache();
    cache.set('k', token(3_600_000), 0);
    expect(cache.get('k', 180, 3_600_000 - 181_000)).toBeDefined();
    expect(cache.get('k', 180, 3_600_000 - 179_000)).toBeUndefined();
    expect(cache.get('k', 0, 3_600_000)).toBeUndefined();
  });

  it('caps the margin at half the life the token had when it came, as the server does', () => {
    const cache = new TokenCache();
    cache.set('k', token(40_000), 0);
    expect(cache.get('k', 180, 19_000)).toBeDefined();
    expect(cache.get('k', 180, 21_000)).toBeUndefined();
  });
});

it('CredmanError keeps its code, status and retryAfter', () => {
  const e = new CredmanError('TooManyRequests', 'busy', { status: 429, retryAfter: 3 });
  expect(e).toMatchObject({ name: 'CredmanError', code: 'TooManyRequests', status: 429, retryAfter: 3, details: [] });
});
