import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import { rewrapPage } from '../../../shared/crypto/rewrapper';

// Key rotation on Azurite: every envelope moves to the new KEK version, page by page, and every
// secret still opens; rows without secrets (counters) are left alone.

let azurite: EmbeddedAzurite;
let dir: string;
let table: TableClient;

beforeAll(async () => {
  azurite = await startAzurite();
  dir = await mkdtemp(join(tmpdir(), 'credman-rewrap-'));
  table = TableClient.fromConnectionString(azurite.connectionString, 'rewrapTest', { allowInsecureConnection: true });
  await table.createTable();
});

afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

it('rewraps every envelope sealed under an older KEK version, once, and the secrets still open', async () => {
  const kek = await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined);
  const writer = new EnvelopeCipher(kek, new DekCache({ ttlMs: 60_000, maxEntries: 100 }));
  const loc = (rk: string) => ({ table: table.tableName, partitionKey: 'p', rowKey: rk });
  for (let i = 0; i < 25; i++) {
    const rk = `r${String(i).padStart(2, '0')}`;
    await table.createEntity({ partitionKey: 'p', rowKey: rk, secrets: await writer.seal(loc(rk), { 'token.refresh': `secret-${i}` }) });
  }
  await table.createEntity({ partitionKey: 'p', rowKey: '!count', count: 25 });
  const oldKid = await kek.currentKeyId();
  const newKid = await kek.rotate();
  expect(newKid).not.toBe(oldKid);

  let unwraps = 0;
  const counting = {
    kind: 'local',
    wrap: (d: Buffer) => kek.wrap(d),
    unwrap: (k: Parameters<typeof kek.unwrap>[0]) => (unwraps++, kek.unwrap(k)),
    currentKeyId: () => kek.currentKeyId(),
    check: () => kek.check(),
  };
  const cipher = new EnvelopeCipher(counting, new DekCache({ ttlMs: 60_000, maxEntries: 100 }));
  let next: string | undefined;
  let total = 0;
  let pages = 0;
  do {
    const r = await rewrapPage(table, cipher, next, 10);
    total += r.rewrapped;
    next = r.next;
    pages++;
  } while (next);
  expect(total).toBe(25);
  expect(pages).toBe(3);
  expect(unwraps).toBe(25);

  for await (const e of table.listEntities<{ secrets?: string }>()) {
    if (!e.secrets) continue;
    expect(cipher.keyIdOf(e.secrets)).toBe(newKid);
    const opened = await new EnvelopeCipher(kek, new DekCache({ ttlMs: 1, maxEntries: 1 })).open(loc(e.rowKey as string), e.secrets);
    expect(opened['token.refresh']).toBe(`secret-${Number((e.rowKey as string).slice(1))}`);
  }
  expect((await rewrapPage(table, cipher, undefined, 100)).rewrapped).toBe(0);
});
