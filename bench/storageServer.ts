import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startAzurite } from '../local/azurite';

// Table storage for the token bench, in its own process (as a storage service is): Azurite
// behind a proxy that counts the requests reaching it, so Table reads per request are measured.
// Prints {"connectionString", "port"} once; GET /__counts on the proxy answers the counts.

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const target = new URL(/TableEndpoint=([^;]+)/.exec(azurite.connectionString)?.[1] as string);
  const counts = { get: 0, other: 0 };
  const proxy = createServer((req, res) => {
    if (req.url === '/__counts') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    if (req.method === 'GET') counts.get++;
    else counts.other++;
    const fwd = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
  const port = (proxy.address() as AddressInfo).port;
  const connectionString = azurite.connectionString.replace(/TableEndpoint=[^;]+/, `TableEndpoint=http://127.0.0.1:${port}${target.pathname}`);
  console.log(JSON.stringify({ connectionString, port }));
  const stop = () => proxy.close(() => void azurite.stop().then(() => process.exit(0)));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
