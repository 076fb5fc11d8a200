import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeBytes } from './writeBytes';

// The proxy bench's upstream: a bare Node HTTP server in its own process, standing for a SaaS API.
// It wants a bearer token (any) and answers `/v1/item` with a small JSON body (a typical API
// answer) and `/v1/bytes?n=` with n bytes, written as fast as the reader takes them.

const item = JSON.stringify({ id: 1347, title: 'Found a bug', state: 'open', labels: ['bug'], body: 'x'.repeat(200) });

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (!/^Bearer ./.test(req.headers.authorization ?? '')) return void res.writeHead(401).end();
    const url = new URL(req.url ?? '/', 'http://api');
    if (url.pathname !== '/v1/bytes') return void res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining': '4999' }).end(item);
    writeBytes(res, Number(url.searchParams.get('n') ?? '0'));
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
