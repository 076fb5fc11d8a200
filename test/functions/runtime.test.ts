import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azuriteConnectionString, startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { freePort } from '../../local/freePort';
import { localAppSettings } from '../support/appSettings';
import { loadApp } from '../local/durable/support';

// The app's Services are built once per process, when it starts, without asking storage anything
// (tables are made by their first write). A start during a storage outage therefore succeeds, its
// requests fail with 503 until storage is back, and a start that did fail (the local key file
// unreadable, say) is not remembered: the next invocation tries again.

loadApp();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the core shim is in place
const { getServices } = require('../../functions/lib/runtime') as typeof import('../../functions/lib/runtime');

let dir: string;
let azurite: EmbeddedAzurite | undefined;
afterAll(async () => {
  await azurite?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('builds the services while storage is away, answers 503 meanwhile, and serves once it is back', async () => {
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'credman-runtime-'));
  Object.assign(process.env, localAppSettings(azuriteConnectionString(`http://127.0.0.1:${port}`), join(dir, 'kek.json')));

  // Nothing is asked of storage to build the services; each request answers 503 until it is back.
  const services = getServices();
  const s = await services;
  await expect(s.providers.list(10)).rejects.toMatchObject({ code: 'DependencyUnavailable', status: 503 });

  azurite = await startAzurite({ port });
  expect((await s.providers.list(10)).items).toEqual([]);
  expect(getServices()).toBe(services);
}, 30_000);

it('tries again after a start that failed, then keeps what it built', async () => {
  jest.resetModules();
  loadApp();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh runtime module: nothing built yet
  const fresh = require('../../functions/lib/runtime') as typeof import('../../functions/lib/runtime');
  // The key file's folder is a file: the local key cannot be read or created.
  const blocked = join(dir, 'blocked');
  writeFileSync(blocked, '');
  process.env.CREDMAN_LOCAL_KEK_FILE = join(blocked, 'kek.json');
  await expect(fresh.getServices()).rejects.toMatchObject({ status: 503, cause: expect.objectContaining({ code: 'ENOTDIR' }) });

  rmSync(blocked);
  mkdirSync(blocked);
  const services = fresh.getServices();
  await expect(services).resolves.toBeDefined();
  expect(fresh.getServices()).toBe(services);
}, 30_000);
