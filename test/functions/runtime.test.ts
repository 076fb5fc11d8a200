import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azuriteConnectionString, startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { loadApp } from '../local/durable/support';

// The app's Services are built once per process, when it starts. A start that fails because
// storage is away (a cold start during an outage) must not stick: the next invocation tries again.

loadApp();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the core shim is in place
const { getServices } = require('../../functions/lib/runtime') as typeof import('../../functions/lib/runtime');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  await new Promise((ok) => server.close(ok));
  return port;
}

let dir: string;
let azurite: EmbeddedAzurite | undefined;
afterAll(async () => {
  await azurite?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('tries again after a start that failed because storage was away, then keeps what it built', async () => {
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'credman-runtime-'));
  Object.assign(process.env, {
    CREDMAN_STORAGE_CONNECTION_STRING: azuriteConnectionString(`http://127.0.0.1:${port}`),
    CREDMAN_KEK_PROVIDER: 'local',
    CREDMAN_LOCAL_KEK_FILE: join(dir, 'kek.json'),
    CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/jwks' }]),
    CREDMAN_AUTH_AUDIENCES: 'api://credman',
    CREDMAN_APP_TENANT_ID: '00000000-0000-4000-8000-00000000de01',
    CREDMAN_APP_OBJECT_ID: '00000000-0000-4000-8000-00000000a901',
    CREDMAN_PUBLIC_BASE_URL: 'http://localhost:7071',
  });

  // A 503 with Retry-After for the request; the cause (for the log) is the refused connection.
  await expect(getServices()).rejects.toMatchObject({ code: 'DependencyUnavailable', status: 503, cause: expect.objectContaining({ message: expect.stringMatching(/ECONNREFUSED/) }) });

  azurite = await startAzurite({ port });
  const services = getServices();
  await expect(services).resolves.toBeDefined();
  expect(getServices()).toBe(services);
}, 30_000);
