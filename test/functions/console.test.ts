import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { consolePath, contentSecurityPolicy, serveConsoleFrom } from '../../functions/lib/consoleFiles';
import { startHost, type TestHost } from '../support/host';
import { rawRequest } from '../support/rawRequest';

// The console's files, served by the app (functions/console.ts): content types, caching, the
// Content-Security-Policy, the SPA fallback, and no way out of the build folder.

const INDEX = '<!doctype html><meta name="csp-nonce" content="%CSP_NONCE%"><title>t</title>';
let dir: string;
let serve: (request: HttpRequest) => Promise<HttpResponseInit>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credman-console-'));
  const root = join(dir, 'console');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, 'assets', 'index-DGIeKVlq.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'index-DGIeKVlq.js.map'), '{}');
  writeFileSync(join(root, 'logo.svg'), '<svg/>');
  writeFileSync(join(root, '.env.json'), '{"secret":1}');
  // Beside the build, never served.
  writeFileSync(join(dir, 'secret.txt'), 'secret');
  serve = serveConsoleFrom(root, () => ({ oidc: { authority: 'https://login.example/tenant/v2.0', clientId: 'c1', scopes: 'openid' } }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const get = async (path: string) => {
  const r = await serve(new HttpRequest({ method: 'GET', url: `http://localhost:7071${path}` }));
  const headers = r.headers as Record<string, string>;
  return { status: r.status, headers, text: Buffer.isBuffer(r.body) ? r.body.toString('utf8') : (r.body as string) };
};

describe('the console files', () => {
  it('answers every page of the app with index.html, not cached, its nonce in the page and the policy', async () => {
    for (const path of ['/api/console', '/api/console/', '/api/console/providers/p1', '/api/console/callback', '/API/Console/providers']) {
      const r = await get(path);
      expect({ path, status: r.status, type: r.headers['Content-Type'], cache: r.headers['Cache-Control'] }).toEqual({ path, status: 200, type: 'text/html; charset=utf-8', cache: 'no-cache' });
      const nonce = /content="([^"]+)"/.exec(r.text)![1];
      expect(nonce).not.toBe('%CSP_NONCE%');
      expect(r.headers['Content-Security-Policy']).toBe(contentSecurityPolicy(nonce, 'https://login.example/tenant/v2.0'));
      expect(r.headers['X-Frame-Options']).toBe('DENY');
    }
    // A new nonce each time.
    expect((await get('/api/console/')).text).not.toBe((await get('/api/console/')).text);
  });

  it('serves built files with their type; hashed assets immutable, others revalidated', async () => {
    const js = await get('/api/console/assets/index-DGIeKVlq.js');
    expect(js).toMatchObject({ status: 200, text: 'console.log(1)', headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=31536000, immutable' } });
    const svg = await get('/api/console/logo.svg');
    expect(svg).toMatchObject({ status: 200, headers: { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-cache' } });
  });

  it('answers a missing file with 404 text, never the page (a script tag must not get HTML)', async () => {
    for (const path of ['/api/console/assets/index-old12345.js', '/api/console/favicon.ico', '/api/console/assets/index-DGIeKVlq.js.map', '/api/console/.env.json']) {
      const r = await get(path);
      expect({ path, status: r.status, type: r.headers['Content-Type'] }).toEqual({ path, status: 404, type: 'text/plain; charset=utf-8' });
    }
  });

  it('never leaves the build folder, whatever the encoding of `..`', async () => {
    for (const path of [
      '/api/console/../secret.txt',
      '/api/console/%2e%2e/secret.txt',
      '/api/console/assets/%2E%2E/%2E%2E/secret.txt',
      '/api/console/..%2fsecret.txt',
      '/api/console/..%5csecret.txt',
      '/api/console/%00/secret.txt',
      '/api/console//secret.txt',
      '/api/console/%E0%A4%A',
    ]) {
      const r = await get(path);
      expect(r.text).not.toContain('secret');
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
    }
    expect(consolePath('http://h/api/console/a%2f..%2f..%2fb')).toBeUndefined();
    expect(consolePath('http://h/api/consoleX/a')).toBeUndefined();
    expect(consolePath('http://h/api/console/assets/a%20b.js')).toBe('assets/a b.js');
  });

  it('hands the console its sign-in configuration, uncached', async () => {
    const r = await get('/api/console/config.json');
    expect(r.status).toBe(200);
    expect(r.headers['Cache-Control']).toBe('no-store');
    expect(JSON.parse(r.text)).toEqual({ configured: true, authority: 'https://login.example/tenant/v2.0', clientId: 'c1', scopes: 'openid' });
    const bare = serveConsoleFrom(join(dir, 'console'), () => ({}));
    const none = await bare(new HttpRequest({ method: 'GET', url: 'http://localhost/api/console/config.json' }));
    expect(JSON.parse(none.body as string)).toEqual({ configured: false });
  });
});

describe('the console in the local host (the real build)', () => {
  let host: TestHost;
  beforeAll(async () => {
    host = await startHost({ CREDMAN_LOCAL_DURABLE: 'false' });
  }, 60_000);
  afterAll(async () => {
    await host?.stop();
  });

  /** fetch would resolve `..` before sending it. */
  const raw = (path: string) => rawRequest(host.baseUrl, path);

  it('serves the built page with nosniff and a strict policy, and its script', async () => {
    const page = await raw('/api/console/');
    expect(page.status).toBe(200);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe');
    const script = /src="(\/api\/console\/assets\/[^"]+\.js)"/.exec(page.text)![1];
    const js = await raw(script);
    expect({ status: js.status, type: js.headers['content-type'], cache: js.headers['cache-control'] }).toEqual({
      status: 200,
      type: 'text/javascript; charset=utf-8',
      cache: 'public, max-age=31536000, immutable',
    });
  });

  it('gives nothing outside the build for traversal attempts sent as they are', async () => {
    for (const path of ['/api/console/../../package.json', '/api/console/%2e%2e/%2e%2e/package.json', '/api/console/assets/..%2f..%2f..%2fpackage.json', '/api/console/..%5c..%5cpackage.json']) {
      const r = await raw(path);
      expect(r.text).not.toContain('"devDependencies"');
      expect(r.status).toBeGreaterThanOrEqual(400);
    }
  });
});
