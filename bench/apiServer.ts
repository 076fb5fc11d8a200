import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The proxy bench's upstream: a bare Node HTTP server in its own process, standing for a SaaS API.
// It wants a bearer token (any) and answers `/v1/item` with a small JSON body (a typical API
// answer) and `/v1/bytes?n=` with n bytes, written as fast as the reader takes them.

const item = JSON.stringify({ id: 1347, title: 'Found a bug', state: 'open', labels: ['bug'], body: 'x'.repeat(200) });
const chunk = Buffer.alloc(64 * 1024, 0x61);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (!/^Bearer ./.test(req.headers.authorization ?? '')) return void res.writeHead(401).end();
    const url = new URL(req.url ?? '/', 'http://api');
    if (url.pathname !== '/v1/bytes') return void res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining': '4999' }).end(item);
    let left = Number(url.searchParams.get('n') ?? '0');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const pump = () => {
      while (left > 0) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
