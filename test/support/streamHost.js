// A tiny streaming app in the built local host (dist/, built by globalSetup), in its own process so
// that a test can watch the host's memory: @azure/functions-core installed, the app registered with
// app.setup({ enableHttpStream: true }), the worker's capabilities asked, the host server started.
// Prints {"port":…} when listening.
const { setImmediate } = require('node:timers');
const { Readable } = require('node:stream');
const { join } = require('node:path');

const dist = join(__dirname, '..', '..', 'dist', 'local', 'host');
const { installCoreApi, runHooks } = require(join(dist, 'coreApi.js'));
const { httpRoutes } = require(join(dist, 'routes.js'));
const { createHostServer } = require(join(dist, 'server.js'));
const { streamWorker } = require(join(dist, 'stream.js'));

const core = installCoreApi('4.0.0-credman-test');
const { app } = require('@azure/functions');
app.setup({ enableHttpStream: true });

const CHUNK = Buffer.alloc(64 * 1024, 120);

/**
 * `total` bytes in 64 KiB chunks, one per turn of the event loop (or one per `paceMs`, as a source
 * slower than its client); fails after `failAfter` bytes if given.
 */
function generated(total, failAfter, paceMs) {
  let sent = 0;
  const later = paceMs === undefined ? setImmediate : (fn) => setTimeout(fn, paceMs);
  return new Readable({
    read() {
      later(() => {
        if (failAfter !== undefined && sent >= failAfter) return this.destroy(new Error('source failed'));
        if (sent >= total) return this.push(null);
        const n = Math.min(CHUNK.length, total - sent);
        sent += n;
        this.push(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      });
    },
  });
}

app.http('count', {
  methods: ['POST'],
  route: 'count',
  handler: async (request) => {
    let bytes = 0;
    for await (const chunk of request.body) bytes += chunk.length;
    return { jsonBody: { bytes } };
  },
});
// Answers without reading the body, as readJson refuses a Content-Length over its limit.
app.http('refuse', { methods: ['PUT'], route: 'refuse', handler: () => ({ status: 413, jsonBody: { error: 'too large' } }) });
app.http('big', {
  methods: ['GET'],
  route: 'big/{mb}',
  handler: (request) => ({ body: generated(Number(request.params.mb) * 1024 * 1024) }),
});
app.http('paced', {
  methods: ['GET'],
  route: 'paced/{mb}',
  handler: (request) => ({ body: generated(Number(request.params.mb) * 1024 * 1024, undefined, 1) }),
});
app.http('echo', {
  methods: ['GET', 'POST'],
  route: 'echo/{id}',
  handler: (request) => ({
    jsonBody: { url: request.url, headers: Object.fromEntries(request.headers), params: request.params, a: request.query.getAll('a'), A: request.query.get('A') },
  }),
});
app.http('hopHeaders', {
  methods: ['GET'],
  route: 'hopHeaders',
  handler: () => ({
    headers: {
      Connection: 'x-hop',
      'x-hop': '1',
      'Keep-Alive': 'timeout=1',
      Upgrade: 'h2c',
      'Proxy-Authenticate': 'Basic',
      'Strict-Transport-Security': 'max-age=60',
      'Alt-Svc': 'h3=":443"',
      'x-kept': 'yes',
    },
    body: 'ok',
  }),
});
app.http('cookies', {
  methods: ['GET'],
  route: 'cookies',
  handler: () => ({
    headers: { 'Set-Cookie': 'fromHeader=1' },
    cookies: [
      { name: 'a', value: 'x y;z', sameSite: 'Lax', httpOnly: true, maxAge: 600 },
      { name: 'b', value: 'q', path: '/api/consent', secure: true },
    ],
  }),
});
app.http('throws', {
  methods: ['GET'],
  route: 'throws',
  handler: () => {
    throw new Error('boom');
  },
});
app.http('midStream', {
  methods: ['GET'],
  route: 'midStream',
  handler: () => ({ body: generated(16 * 1024 * 1024, 1024 * 1024) }),
});
app.http('nothing', { methods: ['GET'], route: 'nothing', handler: () => undefined });

void (async () => {
  await runHooks(core, 'appStart');
  const table = { routes: httpRoutes(core.registrations), stream: await streamWorker(core) };
  const server = createHostServer(table);
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port, streaming: Boolean(table.stream) })));
})();
