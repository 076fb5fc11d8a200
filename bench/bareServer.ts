import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

// The machine's ceiling for the token bench: a bare Node HTTP server in its own process that
// answers every request with a token-sized JSON body, doing nothing else.

const body = JSON.stringify({
  accessToken: 'x'.repeat(900),
  tokenType: 'Bearer',
  expiresOn: new Date(Date.now() + 3_600_000).toISOString(),
  scope: 'api',
  claims: { token_type: 'Bearer', expires_in: 3600, scope: 'api' },
});

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }).end(body));
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
