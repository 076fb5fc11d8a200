import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { canonicalJson, INTEGRITY_KEY_ROW, RecordIntegrity } from '../../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import { rewrapPage } from '../../../shared/crypto/rewrapper';
import { DecryptionError, TamperedRecordError } from '../../../shared/errors';
import { AccessPolicyStore } from '../../../shared/store/accessPolicies';
import { WebhookStore } from '../../../shared/store/webhooks';

// The tamper-detection facility on Azurite: row MACs, versions, the sealed MAC key and its
// migration rules, and envelope bindings.

let azurite: EmbeddedAzurite;
let dir: string;
let kek: LocalKeyWrapper;
let cipher: EnvelopeCipher;
let n = 0;
const CREATED = '2026-12-01T00:00:00.000Z';

beforeAll(async () => {
  azurite = await startAzurite();
  dir = await mkdtemp(join(tmpdir(), 'credman-integrity-'));
  kek = await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined);
  cipher = new EnvelopeCipher(kek, new DekCache({ ttlMs: 60_000, maxEntries: 100 }));
});

afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function newTable(): Promise<TableClient> {
  const t = TableClient.fromConnectionString(azurite.connectionString, `integrity${++n}`, { allowInsecureConnection: true });
  await t.createTable();
  return t;
}

const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof TamperedRecordError ? e.reason : `other: ${String(e)}`),
  );

describe('row MACs', () => {
  it('accept the row as written and refuse any change to it, its key or its MAC', async () => {
    const table = await newTable();
    const integrity = new RecordIntegrity(cipher, table);
    const loc = (rk: string) => ({ table: table.tableName, partitionKey: 'p', rowKey: rk });
    const row = await integrity.protect(loc('a'), { partitionKey: 'p', rowKey: 'a', kind: 'entra', objectId: 'alice', n: 3 }, undefined);
    await table.createEntity(row);
    const read = (rk: string) => table.getEntity('p', rk);
    expect(await reasonOf(integrity.verify('policy', loc('a'), await read('a')))).toBe('accepted');

    await table.updateEntity({ partitionKey: 'p', rowKey: 'a', objectId: 'mallory' }, 'Merge');
    expect(await reasonOf(integrity.verify('policy', loc('a'), await read('a')))).toBe('MacMismatch');
    await table.createEntity({ ...row, rowKey: 'b' });
    expect(await reasonOf(integrity.verify('policy', loc('b'), await read('b')))).toBe('MacMismatch');
    await table.createEntity({ partitionKey: 'p', rowKey: 'c', kind: 'entra', objectId: 'mallory' });
    expect(await reasonOf(integrity.verify('policy', loc('c'), await read('c')))).toBe('Unprotected');
  });

  it('refuse an older version than one seen, and bound it to this instance', async () => {
    const table = await newTable();
    let now = 1_000;
    const integrity = new RecordIntegrity(cipher, table, { now: () => now });
    const loc = { table: table.tableName, partitionKey: 'p', rowKey: 'a' };
    const v1 = await integrity.protect(loc, { partitionKey: 'p', rowKey: 'a', objectId: 'alice' }, undefined);
    now = 2_000;
    const v2 = await integrity.protect(loc, { partitionKey: 'p', rowKey: 'a', objectId: 'bob' }, v1.sealVersion);
    expect(v2.sealVersion).toBeGreaterThan(v1.sealVersion);
    expect(await reasonOf(integrity.verify('policy', loc, v2))).toBe('accepted');
    expect(await reasonOf(integrity.verify('policy', loc, v1))).toBe('Rollback');
    // A fresh instance has seen nothing: a whole-row rollback is only bounded (docs/storage.md).
    expect(await reasonOf(new RecordIntegrity(cipher, table).verify('policy', loc, v1))).toBe('accepted');
    // A delete through this instance leaves a tombstone version; a row created again is newer.
    now = 3_000;
    integrity.deleted(loc);
    expect(await reasonOf(integrity.verify('policy', loc, v2))).toBe('Rollback');
    now = 3_001;
    const again = await integrity.protect(loc, { partitionKey: 'p', rowKey: 'a', objectId: 'carol' }, undefined);
    expect(await reasonOf(integrity.verify('policy', loc, again))).toBe('accepted');
  });

  it('remember only versions storage took: a write that lost its If-Match does not make the row look rolled back', async () => {
    const table = await newTable();
    const integrity = new RecordIntegrity(cipher, table);
    const store = new AccessPolicyStore(table, integrity);
    const subject = (objectId: string) => ({ kind: 'entra' as const, tenantId: 't', objectId });
    const first = await store.put('gh', 'alice', 'p', subject('alice'), CREATED);
    await expect(store.put('gh', 'alice', 'p', subject('bob'), CREATED, { ifMatch: 'W/"datetime\'2000-01-01T00%3A00%3A00Z\'"' })).rejects.toMatchObject({ status: 412 });
    expect((await store.get('gh', 'alice', 'p'))?.subject).toMatchObject({ objectId: 'alice' });
    expect((await store.list('gh', 'alice', 10)).items.map((r) => r.etag)).toEqual([first.record.etag]);
    // A write it took is remembered: its older copy put back is a rollback.
    const { etag: _etag, timestamp: _ts, ...old } = await table.getEntity<Record<string, unknown>>('gh:alice', 'p');
    await store.put('gh', 'alice', 'p', subject('carol'), CREATED);
    await table.upsertEntity({ ...old, partitionKey: 'gh:alice', rowKey: 'p' }, 'Replace');
    await expect(store.get('gh', 'alice', 'p')).rejects.toMatchObject({ code: 'RecordTampered' });
  });

  it('survive key rotation: a rewrap changes the envelope, not what the MAC covers', async () => {
    const table = await newTable();
    const integrity = new RecordIntegrity(cipher, table);
    const store = new WebhookStore(table, cipher, integrity);
    await store.put('hook', { url: 'https://receiver.example/hook', events: ['connection.reauthorizationRequired'] }, 'whsec-1');
    const before = await table.getEntity<{ secrets: string }>('webhooks', 'hook');
    await kek.rotate();
    let page = await rewrapPage(table, cipher, undefined);
    while (page.next) page = await rewrapPage(table, cipher, page.next);
    const after = await table.getEntity<{ secrets: string }>('webhooks', 'hook');
    expect(after.secrets).not.toBe(before.secrets);
    expect((await store.getForDelivery('hook'))?.secrets).toEqual(['whsec-1']);
  });
});

describe('webhook subscriptions', () => {
  it('are not delivered to when changed outside credman; the others still are', async () => {
    const table = await newTable();
    const reports: string[] = [];
    const integrity = new RecordIntegrity(cipher, table, { report: (record, loc, reason) => reports.push(`${record} ${loc.rowKey} ${reason}`) });
    const store = new WebhookStore(table, cipher, integrity);
    const event = 'connection.reauthorizationRequired' as const;
    await store.put('good', { url: 'https://receiver.example/good', events: [event] }, 'whsec-good');
    await store.put('moved', { url: 'https://receiver.example/moved', events: [event] }, 'whsec-moved');
    await store.put('unsigned', { url: 'https://receiver.example/unsigned', events: [event] }, 'whsec-unsigned');
    await table.updateEntity({ partitionKey: 'webhooks', rowKey: 'moved', url: 'https://attacker.example/' }, 'Merge');
    // Dropping the secret would make deliveries unsigned: the MAC covers the envelope too.
    const unsigned = await table.getEntity<Record<string, unknown>>('webhooks', 'unsigned');
    delete unsigned.secrets;
    await table.updateEntity(unsigned as { partitionKey: string; rowKey: string }, 'Replace');
    await table.createEntity({ partitionKey: 'webhooks', rowKey: 'planted', url: 'https://attacker.example/', events: JSON.stringify([event]), createdOn: '', changedOn: '' });

    expect((await store.subscribersOf(event)).map((s) => s.record.id)).toEqual(['good']);
    expect((await store.list(100)).items.map((s) => s.id)).toEqual(['good']);
    await expect(store.getForDelivery('moved')).rejects.toMatchObject({ code: 'RecordTampered', status: 409 });
    expect(reports).toEqual(expect.arrayContaining(['webhook subscription moved MacMismatch', 'webhook subscription unsigned MacMismatch', 'webhook subscription planted Unprotected']));
  });
});

describe('the MAC key', () => {
  it('lets rows from before protection in only if they were last written before the key was made', async () => {
    const table = await newTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'old', objectId: 'alice' });
    const old = await table.getEntity('p', 'old');
    await new Promise((r) => setTimeout(r, 20));
    const integrity = new RecordIntegrity(cipher, table);
    const loc = (rk: string) => ({ table: table.tableName, partitionKey: 'p', rowKey: rk });
    expect(await reasonOf(integrity.verify('policy', loc('old'), old))).toBe('accepted');
    await table.createEntity({ partitionKey: 'p', rowKey: 'new', objectId: 'mallory' });
    expect(await reasonOf(integrity.verify('policy', loc('new'), await table.getEntity('p', 'new')))).toBe('Unprotected');
  });

  it('is one key for all instances, sealed by the KEK, and not made again once protected rows exist', async () => {
    const table = await newTable();
    const loc = { table: table.tableName, partitionKey: 'p', rowKey: 'a' };
    const [a, b] = [new RecordIntegrity(cipher, table), new RecordIntegrity(cipher, table)];
    const rows = await Promise.all([a.protect(loc, { partitionKey: 'p', rowKey: 'a', x: 1 }, undefined), b.ready()]);
    expect(await reasonOf(b.verify('policy', loc, rows[0]))).toBe('accepted');
    const keyRow = await table.getEntity<{ secrets: string }>(INTEGRITY_KEY_ROW.partitionKey, INTEGRITY_KEY_ROW.rowKey);
    expect(keyRow.secrets).toMatch(/^\{"v":1,/);

    // Someone deletes it to have a new key made (which would let rows without a MAC in).
    await table.deleteEntity(INTEGRITY_KEY_ROW.partitionKey, INTEGRITY_KEY_ROW.rowKey);
    const c = new RecordIntegrity(cipher, table, { hasProtectedRows: async () => true });
    expect(await reasonOf(c.verify('policy', loc, rows[0]))).toBe('IntegrityKeyMissing');
  });
});

describe('envelope bindings', () => {
  it('open only with the binding they were sealed with, and never fall back to the unbound form', async () => {
    const loc = { table: 't', partitionKey: 'p', rowKey: 'r' };
    const binding = canonicalJson({ config: 'digest-1', version: 7 });
    const bound = await cipher.seal(loc, { secret: 's' }, binding);
    expect(await cipher.open(loc, bound, binding)).toEqual({ secret: 's' });
    await expect(cipher.open(loc, bound, canonicalJson({ config: 'digest-2', version: 7 }))).rejects.toBeInstanceOf(DecryptionError);
    await expect(cipher.open(loc, bound, canonicalJson({ config: 'digest-1', version: 6 }))).rejects.toBeInstanceOf(DecryptionError);
    await expect(cipher.open(loc, bound)).rejects.toMatchObject({ code: 'DecryptionTampered' });
    const unbound = await cipher.seal(loc, { secret: 's' });
    await expect(cipher.open(loc, unbound, binding)).rejects.toMatchObject({ code: 'DecryptionTampered' });
    // An envelope relabelled as unbound does not open without its binding either.
    await expect(cipher.open(loc, bound.replace('"v":2', '"v":1'))).rejects.toMatchObject({ code: 'DecryptionTampered' });
    await expect(cipher.seal(loc, {}, binding)).rejects.toThrow(TypeError);
  });

  it('canonical JSON does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe(canonicalJson({ a: { d: [1, { e: 3, f: 2 }] }, b: 1 }));
  });
});
