import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { authCodeConnection, oauth2Provider, startHost, type TestHost } from '../support/host';

// Two app instances on one storage account: the in-process queue cannot help here, so only the
// counter row's ETag keeps the limit exact. Instances of one deployment share its KEK (rows are
// sealed and MAC'd with keys it wraps), so the two hosts share one key file.

let azurite: EmbeddedAzurite;
let kekDir: string;
let a: TestHost;
let b: TestHost;
beforeAll(async () => {
  azurite = await startAzurite();
  kekDir = mkdtempSync(join(tmpdir(), 'credman-instances-'));
  const env = { CREDMAN_LOCAL_KEK_FILE: join(kekDir, 'kek.json') };
  [a, b] = await Promise.all([startHost(env, azurite), startHost(env, azurite)]);
}, 60000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await azurite?.stop();
  rmSync(kekDir, { recursive: true, force: true });
});

it('holds the 100-policy limit exactly when two instances create policies at once', async () => {
  expect((await a.request('PUT', '/providers/shared', { body: oauth2Provider() })).status).toBe(201);
  expect((await b.request('PUT', '/providers/shared/connections/c', { body: authCodeConnection })).status).toBe(201);
  const results = await Promise.all(
    Array.from({ length: 120 }, (_, i) =>
      (i % 2 ? a : b).request('PUT', `/providers/shared/connections/c/accessPolicies/p${i}`, {
        body: { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` } },
      }),
    ),
  );
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(99);
  expect(statuses.filter((s) => s === 409)).toHaveLength(21);
  let stored = 0;
  for await (const e of a.table('credmanAccessPolicies').listEntities()) if (e.partitionKey === 'shared:c' && e.rowKey !== '!count') stored++;
  expect(stored).toBe(100);
  const counter = await a.table('credmanAccessPolicies').getEntity<{ count: number }>('shared:c', '!count');
  expect(counter.count).toBe(100);
}, 90000);
