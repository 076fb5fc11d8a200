import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { runHooks } from '../../local/host/coreApi';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { localAppSettings } from '../support/appSettings';
import { loadApp } from '../local/durable/support';

// The Node worker awaits appStart hooks and a rejection fails its init; the host restarts the
// worker and, after repeated failures, recycles the instance. So credman's hook must never throw,
// whatever the settings or the storage: requests say what is wrong and build again.

const app = loadApp();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the app registers its HTTP functions on load
require('../../functions/routes');

const invoke = async (name: string, url: string) => {
  const registration = app.core.registrations.find((r) => r.metadata.name === name)!;
  const request = new HttpRequest({ method: 'GET', url, headers: {}, params: {} });
  const context = new InvocationContext({ functionName: name, options: { trigger: { type: 'httpTrigger', name: 'req' } } });
  return (await registration.handler(request, context)) as { status: number; jsonBody: { status?: string; error?: { code: string; message: string; details: { target: string }[] } } };
};

let azurite: EmbeddedAzurite | undefined;
let dir: string;
const logged: string[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'credman-appstart-'));
  for (const level of ['error', 'warn', 'info'] as const) jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
});
afterAll(async () => {
  jest.restoreAllMocks();
  await azurite?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('with bad settings: the hook resolves and logs their names; every request answers 500 naming them, /health 503 Unhealthy', async () => {
  azurite = await startAzurite();
  Object.assign(process.env, localAppSettings(azurite.connectionString, join(dir, 'kek.json')), { CREDMAN_APP_OBJECT_ID: 'sec-ret-value', CREDMAN_IDP_RETRIES: 'many' });
  await expect(runHooks(app.core, 'appStart')).resolves.toBeUndefined();
  await new Promise((ok) => setTimeout(ok, 50));
  expect(logged.join('\n')).toMatch(/start: credman's app settings are invalid: CREDMAN_APP_OBJECT_ID, CREDMAN_IDP_RETRIES[\s\S]*- CREDMAN_APP_OBJECT_ID: /);

  const list = await invoke('listProviders', 'http://localhost/api/providers');
  expect(list.status).toBe(500);
  expect(list.jsonBody.error!.code).toBe('InvalidConfiguration');
  expect(list.jsonBody.error!.details.map((d) => d.target)).toEqual(['CREDMAN_APP_OBJECT_ID', 'CREDMAN_IDP_RETRIES']);
  const health = await invoke('health', 'http://localhost/api/health');
  expect(health.status).toBe(503);
  expect(health.jsonBody).toEqual({ status: 'Unhealthy', error: { code: 'InvalidConfiguration', message: expect.stringContaining('CREDMAN_APP_OBJECT_ID') } });
  expect(JSON.stringify([list, health]) + logged.join('\n')).not.toMatch(/sec-ret-value|many/);

  // Fixed settings (in Azure a settings change restarts the app; here the next request): it serves.
  process.env.CREDMAN_APP_OBJECT_ID = '00000000-0000-4000-8000-00000000a901';
  process.env.CREDMAN_IDP_RETRIES = '2';
  expect((await invoke('health', 'http://localhost/api/health')).jsonBody).toEqual({ status: 'Healthy', checks: { storage: 'Healthy', keyVault: 'Healthy' } });
}, 30_000);
