import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

// HTTP streaming in the local host (docs/local-host.md, "HTTP streaming"): a tiny app with
// app.setup({ enableHttpStream: true }) in the built host, in its own process (test/support/streamHost.js),
// so that its memory can be watched while bodies pass through it.

let child: ChildProcess;
let base: string;
let output = '';

beforeAll(async () => {
  child = spawn(process.execPath, [join(__dirname, '..', 'support', 'streamHost.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
      const m = /\{"port":(\d+),"streaming":true\}/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`stream host exited with ${code}:\n${output}`)));
  });
  base = `http://127.0.0.1:${port}/api`;
}, 30_000);
afterAll(() => {
  child?.kill();
});

/** The host process's resident set, in bytes (Linux). */
function rss(): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** The host's largest resident set while `work` runs, above what it was before. */
async function rssGrowth(work: () => Promise<void>): Promise<number> {
  const before = rss();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rss())), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rss()) - before;
}

const MB = 1024 * 1024;

/** A request body of `total` bytes, made as it is sent. */
function uploadStream(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

/** Reads an answer with node:http, `pauseMs` after each chunk (a slow client) or as fast as it comes. */
function download(url: string, pauseMs = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (pauseMs) {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
      });
      res.on('end', () => resolve(n));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  let n = 0;
  for await (const c of body as unknown as AsyncIterable<Uint8Array>) n += c.length;
  return n;
}

it('streams a large request body to the handler and a larger answer back, the host holding far less than either', async () => {
  // Warm up both paths with transfers as large as the measured ones (JIT, pools, and the heap's first
  // growth for large transfers: Node 22, with streams' larger default highWaterMark (64 KiB), grows
  // it by 20 to 40 MB once, where Node 20 grows it by 20), so that what is measured is what each
  // transfer holds, not a one-off growth that a payload capped at 100 MiB cannot dwarf.
  const UP = 96 * MB;
  await drain((await fetch(`${base}/big/32`)).body);
  await (await fetch(`${base}/count`, { method: 'POST', body: uploadStream(UP), duplex: 'half' } as RequestInit)).json();

  let counted = 0;
  const upGrowth = await rssGrowth(async () => {
    const r = await fetch(`${base}/count`, { method: 'POST', body: uploadStream(UP), duplex: 'half' } as RequestInit);
    counted = ((await r.json()) as { bytes: number }).bytes;
  });
  expect(counted).toBe(UP);
  expect(upGrowth).toBeLessThan(UP / 4);

  // A source slower than its client (an upstream API): the answer passes through, nothing piles up.
  const DOWN = 128 * MB;
  let received = 0;
  const downGrowth = await rssGrowth(async () => {
    received = await download(`${base}/paced/${DOWN / MB}`);
  });
  expect(received).toBe(DOWN);
  expect(downGrowth).toBeLessThan(DOWN / 4);
}, 120_000);

it('buffers in the worker what a slower client has not taken yet, as the library does in Azure', async () => {
  // sendProxyResponse writes each chunk without waiting for 'drain' (library src/http/httpProxy.ts):
  // a source faster than the client piles up in the worker. The host's own hop does not (above).
  // Should the library start honouring backpressure, this fails: update docs/local-host.md.
  const SIZE = 64 * MB;
  let received = 0;
  const growth = await rssGrowth(async () => {
    received = await download(`${base}/big/${SIZE / MB}`, 2);
  });
  expect(received).toBe(SIZE);
  expect(growth).toBeGreaterThan(SIZE / 4);
}, 60_000);

it('hands the handler the URL rebuilt from X-Forwarded-Host/Proto, the client headers from the trigger metadata, and the query from the URL', async () => {
  const r = await fetch(`${base}/echo/r1?a=1&a=2&A=3&id=fromQuery`, { headers: { 'x-client': 'c' } });
  const body = (await r.json()) as { url: string; headers: Record<string, string>; params: Record<string, string>; a: string[]; A: string };
  expect(body.url).toBe(`${base}/echo/r1?a=1&a=2&A=3&id=fromQuery`);
  expect(body.headers['x-client']).toBe('c');
  // What YARP adds on the way to the worker is not in the handler's headers.
  expect(Object.keys(body.headers).filter((h) => h.startsWith('x-forwarded-') || h === 'x-ms-invocation-id')).toEqual([]);
  // The URL's query: names case-sensitive, repeats kept (not the host's merged query, library issue 168).
  expect([body.a, body.A]).toEqual([['1', '2'], '3']);
  // params: every string of the trigger metadata, so the query's values too, keys ignoring case and the
  // last of repeated values (GetQueryParameterDictionary); the route value wins.
  expect(body.params).toEqual({ a: '3', id: 'r1' });
  // The worker's correlation header reaches the client, as YARP copies it.
  expect(r.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
});

it('drops hop-by-hop answer headers, those the Connection header names, and the ones YARP never copies', async () => {
  const r = await fetch(`${base}/hopHeaders`);
  expect(await r.text()).toBe('ok');
  expect(r.headers.get('x-kept')).toBe('yes');
  for (const h of ['x-hop', 'upgrade', 'proxy-authenticate', 'strict-transport-security', 'alt-svc']) expect([h, r.headers.get(h)]).toEqual([h, null]);
  expect(r.headers.get('keep-alive')).not.toBe('timeout=1');
});

it('writes cookies with the cookie package, replacing a Set-Cookie header the function set', async () => {
  const r = await fetch(`${base}/cookies`);
  expect(r.headers.getSetCookie()).toEqual(['a=x%20y%3Bz; Max-Age=600; HttpOnly; SameSite=Lax', 'b=q; Path=/api/consent; Secure']);
});

it('refuses a request body over 100 MiB with 413, declared or not', async () => {
  const declared = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${base}/count`, { method: 'POST', headers: { 'content-length': String(101 * MB) } }, (res) => {
      resolve(res.statusCode ?? 0);
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
  expect(declared).toBe(413);
  const chunked = await fetch(`${base}/count`, { method: 'POST', body: uploadStream(101 * MB), duplex: 'half' } as RequestInit);
  expect(chunked.status).toBe(413);
}, 60_000);

it('survives a handler that throws, one whose body fails mid-stream, and one that answers nothing', async () => {
  // In Azure the worker never answers these (nodejs-library issue 324) and the client waits for the
  // forwarder's 240 s timeout, then the host's 500, or a body cut off. Here they come at once.
  expect((await fetch(`${base}/throws`)).status).toBe(500);
  const cut = await fetch(`${base}/midStream`);
  expect(cut.status).toBe(200);
  await expect(drain(cut.body)).rejects.toThrow();
  expect((await fetch(`${base}/nothing`)).status).toBe(500);
  // A client's own correlation header is replaced by the host's: the invocation is served.
  const own = await fetch(`${base}/echo/x`, { headers: { 'x-ms-invocation-id': 'mine' } });
  expect(own.status).toBe(200);
  expect(own.headers.get('x-ms-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
  // Still serving.
  expect((await fetch(`${base}/echo/after`)).status).toBe(200);
  expect(child.exitCode).toBeNull();
});

/** Answers read off one raw connection, in order: status, headers, body (Content-Length or chunked). */
function answers(socket: Socket): () => Promise<{ status: number; headers: Record<string, string>; body: string }> {
  let buffered = Buffer.alloc(0);
  let ended: Error | undefined;
  let wake = () => {};
  socket.on('data', (c: Buffer) => {
    buffered = Buffer.concat([buffered, c]);
    wake();
  });
  const onEnd = (err?: Error) => {
    ended ??= err ?? new Error('connection closed by the host');
    wake();
  };
  socket.on('end', () => onEnd());
  socket.on('error', onEnd);
  socket.on('close', () => onEnd());
  /** Waits until `ready` says how many bytes it needs (or the connection ends). */
  const until = async <T>(ready: () => T | undefined): Promise<T> => {
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      if (ended) throw ended;
      await new Promise<void>((r) => (wake = r));
    }
  };
  const take = (n: number) => {
    const out = buffered.subarray(0, n);
    buffered = buffered.subarray(n);
    return out;
  };
  const line = () =>
    until(() =>
      buffered.includes('\r\n')
        ? take(buffered.indexOf('\r\n') + 2)
            .toString('latin1')
            .slice(0, -2)
        : undefined,
    );
  const bytes = (n: number) => until(() => (buffered.length >= n ? take(n) : undefined));
  return async () => {
    const status = Number((await line()).split(' ')[1]);
    const headers: Record<string, string> = {};
    for (let h = await line(); h !== ''; h = await line()) headers[h.slice(0, h.indexOf(':')).toLowerCase()] = h.slice(h.indexOf(':') + 1).trim();
    let body = Buffer.alloc(0);
    if (headers['transfer-encoding'] === 'chunked') {
      for (let size = parseInt(await line(), 16); size > 0; size = parseInt(await line(), 16)) {
        body = Buffer.concat([body, await bytes(size)]);
        await line();
      }
      await line();
    } else body = await bytes(Number(headers['content-length'] ?? 0));
    return { status, headers, body: body.toString() };
  };
}

it('drains the rest of a body its handler answered without reading, so the connection serves the next request', async () => {
  // Kestrel reads and discards what the client still sends once the answer is complete (request
  // draining). Without it the body stalled behind the worker's unread stream, the next request on
  // the kept-alive connection waited behind it, and the host's keep-alive timeout reset it: the
  // ECONNRESET a client (undici's fetch) got on its next PUT after a refused 1 MiB body.
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  const next = answers(socket);
  // More than the loopback buffers on the way to the worker hold, so the handler answers first.
  const body = Buffer.alloc(64 * MB, 97);
  try {
    for (let i = 0; i < 3; i++) {
      socket.write(`PUT /api/refuse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body);
      const refused = await next();
      expect([refused.status, refused.headers.connection]).toEqual([413, 'keep-alive']);
      socket.write(`GET /api/echo/after${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      const after = await next();
      expect(after.status).toBe(200);
      expect((JSON.parse(after.body) as { params: { id: string } }).params.id).toBe(`after${i}`);
    }
  } finally {
    socket.destroy();
  }
}, 60_000);

it('closes the connection of a client that stops sending the body its handler did not read, as Kestrel does after its 5 s drain', async () => {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  const next = answers(socket);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`PUT /api/refuse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${64 * MB}\r\n\r\n`);
  socket.write(Buffer.alloc(MB, 97));
  expect((await next()).status).toBe(413);
  // The rest never comes: the host gives up on the connection instead of waiting for ever.
  await closed;
}, 30_000);
