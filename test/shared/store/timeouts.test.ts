import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_APP_OBJECT_ID } from '../../../local/devIssuer';
import { DependencyUnavailableError } from '../../../shared/errors';
import { createServices } from '../../../shared/services';
import { loadSettings } from '../../../shared/settings';
import { startSilentServer, type SilentServer } from '../../support/silentServer';

// A storage endpoint that accepts connections and never answers: every Table request gives up
// after its timeout (the SDK sets none), with a log line naming what it waited for, and the
// caller gets the usual 503 instead of a request that never ends.

let silent: SilentServer;
let dir: string;
beforeAll(async () => {
  silent = await startSilentServer();
  dir = mkdtempSync(join(tmpdir(), 'credman-timeouts-'));
});
afterAll(async () => {
  await silent?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('gives up on a storage request that gets no answer, says which, and answers 503', async () => {
  const settings = loadSettings({
    CREDMAN_STORAGE_CONNECTION_STRING: silent.connectionString,
    CREDMAN_KEK_PROVIDER: 'local',
    CREDMAN_LOCAL_KEK_FILE: join(dir, 'kek.json'),
    CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/keys' }]),
    CREDMAN_AUTH_AUDIENCES: 'api://credman',
    CREDMAN_APP_TENANT_ID: '00000000-0000-4000-8000-00000000de01',
    CREDMAN_APP_OBJECT_ID: DEV_APP_OBJECT_ID,
    CREDMAN_PUBLIC_BASE_URL: 'http://localhost:7071',
  });
  const logs: string[] = [];
  const services = await createServices(settings, { storageTimeoutMs: 300, log: (level, message) => logs.push(`${level}: ${message}`) });

  const started = Date.now();
  const read = await services.providers.list(10).catch((err: unknown) => err);
  expect(read).toBeInstanceOf(DependencyUnavailableError);
  expect((read as DependencyUnavailableError).status).toBe(503);
  const write = await services.webhooks.put('ops', { properties: { url: 'https://hooks.example/x', events: ['connection.deleted'] } }).catch((err: unknown) => err);
  expect(write).toBeInstanceOf(DependencyUnavailableError);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(silent.accepted()).toBeGreaterThan(0);
  // The table, not the row or the query.
  expect(logs.filter((l) => l.includes('storage:'))).toEqual([
    'warn: storage: Table storage did not answer GET /devstoreaccount1/credmanProviders within 0.3 s',
    'warn: storage: Table storage did not answer GET /devstoreaccount1/credmanWebhooks within 0.3 s',
  ]);
}, 15_000);
