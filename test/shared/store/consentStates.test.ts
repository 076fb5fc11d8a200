import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { RecordIntegrity } from '../../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import { ConsentStateStore, handleHash } from '../../../shared/store/consentStates';

// Consent states on Azurite: stored by hash, taken once, purged after expiry, MAC'd.

let azurite: EmbeddedAzurite;
let dir: string;
let table: TableClient;
let store: ConsentStateStore;
const NOW = Date.UTC(2026, 10, 23, 12);

beforeAll(async () => {
  azurite = await startAzurite();
  dir = await mkdtemp(join(tmpdir(), 'credman-consent-'));
  table = TableClient.fromConnectionString(azurite.connectionString, 'consentStatesTest', { allowInsecureConnection: true });
  await table.createTable();
  const cipher = new EnvelopeCipher(await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined), new DekCache({ ttlMs: 60_000, maxEntries: 10 }));
  store = new ConsentStateStore(table, cipher, new RecordIntegrity(cipher, table));
});

afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

const row = (expiresAt: number) => ({ kind: 'login' as const, providerId: 'p', connectionId: 'c', expiresAt, secrets: { verifier: 'v-secret' } });

it('keeps only the hash of a handle, and a row can be taken once', async () => {
  await store.create('handle-1', row(NOW + 60_000));
  const raw = await table.getEntity(handleHash('handle-1'), handleHash('handle-1'));
  expect(JSON.stringify(raw)).not.toContain('handle-1');
  expect(JSON.stringify(raw)).not.toContain('v-secret');
  const r = await store.read('handle-1', 'login');
  expect(r?.secrets.verifier).toBe('v-secret');
  expect(await store.read('handle-1', 'pending')).toBeUndefined();
  expect(await store.take('handle-1', r!)).toBe(true);
  expect(await store.take('handle-1', r!)).toBe(false);
});

it('purges expired rows and leaves live ones', async () => {
  await store.create('old-1', row(NOW - 1));
  await store.create('old-2', row(NOW - 60_000));
  await store.create('live', row(NOW + 60_000));
  expect(await store.purgeExpired(NOW)).toBe(2);
  expect(await store.read('old-1', 'login')).toBeUndefined();
  expect(await store.read('live', 'login')).toBeDefined();
  expect(await store.purgeExpired(NOW)).toBe(0);
});

it('refuses, as tampering, a held consent pointed at another connection or redirect URL by a storage writer', async () => {
  const pending = { kind: 'pending' as const, providerId: 'p', connectionId: 'victim', redirectUrl: 'https://app.example/done', expiresAt: NOW + 60_000, secrets: { tokens: '{"access_token":"t"}' } };
  for (const [handle, change] of [
    ['moved-1', { connectionId: 'attacker' }],
    ['moved-2', { providerId: 'other' }],
    ['moved-3', { redirectUrl: 'https://attacker.example/' }],
    ['moved-4', { expiresAt: NOW + 3_600_000 }],
    ['moved-5', { bindingHash: handleHash('attacker-cookie') }],
  ] as const) {
    await store.create(handle, pending);
    expect((await store.read(handle, 'pending'))?.connectionId).toBe('victim');
    await table.updateEntity({ partitionKey: handleHash(handle), rowKey: handleHash(handle), ...change }, 'Merge');
    // Reported as tampering; to the browser it is a code credman never issued.
    expect(await store.read(handle, 'pending')).toBeUndefined();
  }
});
