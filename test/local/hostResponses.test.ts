import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { HttpResponse, type HttpRequest } from '@azure/functions';
import type { Registration } from '../../local/host/coreApi';
import { httpRoutes } from '../../local/host/routes';
import { createHostServer } from '../../local/host/server';

// What the Functions host and the Node library do with a request's query and a function's return
// value (docs/local-host.md, "Sources"): the local host must not be kinder than Azure.

const fn = (name: string, route: string, handler: (request: HttpRequest) => unknown): Registration => ({
  metadata: { name, bindings: { req: { type: 'httpTrigger', direction: 'in', route, methods: ['GET'] } } },
  handler: handler as Registration['handler'],
});

let server: Server;
let base: string;
beforeAll(async () => {
  const registrations = [
    fn('query', 'query', (r) => ({ jsonBody: { a: r.query.get('a'), all: r.query.getAll('a') } })),
    fn('text', 'text', () => 'hello'),
    fn('nothing', 'nothing', () => undefined),
    fn('badStatus', 'badStatus', () => ({ status: 150 })),
    fn('cookiesPlain', 'cookiesPlain', () => ({
      headers: { 'Set-Cookie': 'fromHeader=1' },
      cookies: [
        { name: 'a', value: 'x y;z', sameSite: 'Lax', httpOnly: true, maxAge: 600 },
        { name: 'b', value: 'q', path: '/api/consent', secure: true, sameSite: 'Weird' },
      ],
    })),
    fn('cookiesResponse', 'cookiesResponse', () => {
      const r = new HttpResponse({ status: 201, cookies: [{ name: 'c', value: "it's(1)", sameSite: 'None', secure: true }] });
      r.headers.append('set-cookie', 'h1=1');
      r.headers.append('set-cookie', 'h2=2');
      return r;
    }),
  ];
  server = createHostServer({ routes: httpRoutes(registrations) });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterAll(async () => {
  jest.restoreAllMocks();
  await new Promise((ok) => server.close(ok));
});

it('hands the function one value per query key, keys ignoring case (first spelling kept), repeated ones joined with ","', async () => {
  expect(await (await fetch(`${base}/query?a=1&a=2&b=3`)).json()).toEqual({ a: '1,2', all: ['1,2'] });
  expect(await (await fetch(`${base}/query?a=1&A=2`)).json()).toEqual({ a: '1,2', all: ['1,2'] });
  expect(await (await fetch(`${base}/query?A=1&a=2`)).json()).toEqual({ a: null, all: [] });
});

it('fails the invocation (500) for a return value that is not an object, and answers 200 empty for none', async () => {
  expect((await fetch(`${base}/text`)).status).toBe(500);
  const none = await fetch(`${base}/nothing`);
  expect([none.status, await none.text()]).toEqual([200, '']);
});

it('fails the invocation (500) for a status outside 200-599', async () => {
  expect((await fetch(`${base}/badStatus`)).status).toBe(500);
});

it('writes cookies as ASP.NET does: value escaped, path "/" by default, lowercase attributes, unknown SameSite left out, after a Set-Cookie header', async () => {
  const r = await fetch(`${base}/cookiesPlain`);
  expect(r.headers.getSetCookie()).toEqual(['fromHeader=1', 'a=x%20y%3Bz; max-age=600; path=/; samesite=lax; httponly', 'b=q; path=/api/consent; secure']);
});

it('keeps the last of several Set-Cookie headers of an HttpResponse (the library copies headers into a map) and appends its cookies', async () => {
  const r = await fetch(`${base}/cookiesResponse`);
  expect(r.status).toBe(201);
  expect(r.headers.getSetCookie()).toEqual(['h2=2', 'c=it%27s%281%29; path=/; secure; samesite=none']);
});
