import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Caller } from '../../../shared/identity/caller';
import { ProxyService } from '../../../shared/proxy/proxyService';
import type { ProviderStore } from '../../../shared/store/providers';
import type { TokenService } from '../../../shared/tokens/tokenService';

// The proxy's time and size limits, made small, against a real upstream socket. The connection's
// token and provider row come from stand-ins of their services (what they do is the end-to-end
// suite's, test/api/proxy.test.ts): here only what the proxy does with time and bytes is at stake.

const CALLER: Caller = { issuer: 'https://issuer.test', subject: 's', roles: [], groups: [] };
let server: Server;
let base: string;
const pending: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v1/silent') return void pending.push(req); // never answers
    if (req.url === '/v1/unsized') {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.write(Buffer.alloc(30));
      return void setTimeout(() => res.end(Buffer.alloc(30)), 20);
    }
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const answer = JSON.stringify({ bytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.length) }).end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function proxy(limits: ConstructorParameters<typeof ProxyService>[2]['limits']) {
  const tokens = { getToken: async () => ({ json: '', context: { accessToken: 'at', tokenType: 'Bearer', claims: {} } }) } as unknown as TokenService;
  const providers = { getWithSecrets: async () => ({ record: { identityProvider: 'oauth2', apiBaseUrl: base }, secrets: {} }) } as unknown as ProviderStore;
  return new ProxyService(tokens, providers, { allowPrivateNetworks: true, providerTtlMs: 0, limits });
}

/** A body that arrives in `parts` chunks `gapMs` apart, its length unknown beforehand. */
async function* slowly(parts: number, gapMs: number, size = 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < parts; i++) {
    await new Promise((r) => setTimeout(r, gapMs));
    yield new Uint8Array(size);
  }
}

const text = async (body: Readable | null) => {
  let out = '';
  for await (const c of body ?? []) out += String(c);
  return out;
};

it("counts the upstream's time to answer from the end of the upload: a slow upload is not a slow upstream", async () => {
  const p = proxy({ answerSeconds: 0.3, totalSeconds: 10 });
  const answer = await p.forward(CALLER, 'p', 'c', { method: 'POST', rawPath: 'upload', search: '', headers: [['content-type', 'application/octet-stream']], body: slowly(6, 150) }, null);
  expect(answer.status).toBe(200);
  expect(JSON.parse(await text(answer.body))).toEqual({ bytes: 6 * 1024 });
  p.close();
});

it('answers 504 UpstreamTimeout when the upstream does not answer in time', async () => {
  const p = proxy({ answerSeconds: 0.3, totalSeconds: 10 });
  await expect(p.forward(CALLER, 'p', 'c', { method: 'GET', rawPath: 'silent', search: '', headers: [], body: null }, null)).rejects.toMatchObject({ code: 'UpstreamTimeout', status: 504 });
  p.close();
});

it('answers 504 when the whole exchange reaches its deadline while still uploading', async () => {
  const p = proxy({ answerSeconds: 10, totalSeconds: 0.4 });
  await expect(p.forward(CALLER, 'p', 'c', { method: 'POST', rawPath: 'upload', search: '', headers: [], body: slowly(20, 100) }, null)).rejects.toMatchObject({ code: 'UpstreamTimeout' });
  p.close();
});

it('refuses a body over the limit: declared (before sending anything) or streamed', async () => {
  const p = proxy({ requestBytes: 4096 });
  await expect(p.forward(CALLER, 'p', 'c', { method: 'POST', rawPath: 'upload', search: '', headers: [['content-length', '5000']], body: slowly(5, 1) }, null)).rejects.toMatchObject({
    code: 'PayloadTooLarge',
    status: 413,
  });
  await expect(p.forward(CALLER, 'p', 'c', { method: 'POST', rawPath: 'upload', search: '', headers: [], body: slowly(5, 1) }, null)).rejects.toMatchObject({ code: 'PayloadTooLarge' });
  p.close();
});

it('refuses an answer declared over the limit, and breaks one off that streams past it', async () => {
  const p = proxy({ responseBytes: 10 });
  // {"bytes":3000} is 14 bytes, declared in Content-Length.
  await expect(
    p.forward(CALLER, 'p', 'c', { method: 'POST', rawPath: 'upload', search: '', headers: [['content-length', '3000']], body: Readable.from([Buffer.alloc(3000)]) }, null),
  ).rejects.toMatchObject({ code: 'UpstreamUnavailable', status: 502 });
  const streamed = await p.forward(CALLER, 'p', 'c', { method: 'GET', rawPath: 'unsized', search: '', headers: [], body: null }, null);
  expect(streamed.status).toBe(200);
  await expect(text(streamed.body)).rejects.toThrow(/exceeds the proxy limit/);
  p.close();
});
