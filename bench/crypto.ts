import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DekCache, EnvelopeCipher, KeyVaultKeyWrapper, LocalKeyWrapper, type KeyWrapper, type RecordLocation } from '../shared/crypto';
import { FakeKeyVault } from '../local/fakes/keyVault';

// Envelope cost per record, and how many Key Vault calls reads cost (counted at the fake).
// A record is a connection's token set: an access token, a refresh token and an ID token.

const RECORDS = 100;
const WARM_READS = 1_000;
const record = {
  accessToken: randomBytes(900).toString('base64url'),
  refreshToken: randomBytes(60).toString('base64url'),
  idToken: randomBytes(700).toString('base64url'),
};
const at = (i: number): RecordLocation => ({ table: 'credmanConnections', partitionKey: 'github', rowKey: `user-${i}` });
const newCache = () => new DekCache({ ttlMs: 15 * 60_000, maxEntries: 10_000 });

const WARMUP = 50;

/** Median of `runs` timed calls op(0..runs-1), after WARMUP untimed calls op(runs..). */
async function medianMicros(runs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await op(runs + i);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await op(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

interface Row {
  wrapper: string;
  seal: number;
  warmOpen: number;
  coldOpen: number;
}

/** Runs per measure: many for in-process work, fewer where each run is an HTTPS round trip. */
const FAST = 5_000;
const REMOTE = 500;

async function measure(name: string, wrapper: KeyWrapper, runs: { seal: number; coldOpen: number }): Promise<Row> {
  const cipher = new EnvelopeCipher(wrapper, newCache());
  const seal = await medianMicros(runs.seal, (i) => cipher.seal(at(i), record));
  const sealed = await cipher.seal(at(0), record);
  const warmOpen = await medianMicros(FAST, () => cipher.open(at(0), sealed));
  // Cold opens: records written elsewhere (another instance, or before the TTL ran out), each
  // read once by a reader whose DEK cache has never seen them.
  const written: string[] = [];
  for (let i = 0; i < runs.coldOpen + WARMUP; i++) written.push(await new EnvelopeCipher(wrapper, newCache()).seal(at(i), record));
  const reader = new EnvelopeCipher(wrapper, newCache());
  const coldOpen = await medianMicros(runs.coldOpen, (i) => reader.open(at(i), written[i]));
  return { wrapper: name, seal, warmOpen, coldOpen };
}

interface CallCounts {
  /** Unwrap calls per cold read, and all calls (challenges, key reads) per cold read. */
  coldUnwraps: number;
  coldAll: number;
  warmAll: number;
  sealAll: number;
}

async function countKeyVaultCalls(vault: FakeKeyVault, wrapper: KeyWrapper): Promise<CallCounts> {
  const writer = new EnvelopeCipher(wrapper, newCache());
  await writer.seal(at(0), record); // resolves the current key version once
  vault.resetCalls();
  const sealed: string[] = [];
  for (let i = 0; i < RECORDS; i++) sealed.push(await writer.seal(at(i), record));
  const sealCalls = total(vault);

  const reader = new EnvelopeCipher(wrapper, newCache());
  vault.resetCalls();
  for (let i = 0; i < RECORDS; i++) await reader.open(at(i), sealed[i]);
  const coldUnwraps = vault.calls.unwrap;
  const coldAll = total(vault);

  vault.resetCalls();
  for (let i = 0; i < WARM_READS; i++) await reader.open(at(i % RECORDS), sealed[i % RECORDS]);
  return { coldUnwraps: coldUnwraps / RECORDS, coldAll: coldAll / RECORDS, warmAll: total(vault), sealAll: sealCalls / RECORDS };
}

function total(vault: FakeKeyVault): number {
  return vault.calls.get + vault.calls.wrap + vault.calls.unwrap + vault.calls.challenge;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'credman-bench-'));
  const vault = await FakeKeyVault.start();
  try {
    const local = await LocalKeyWrapper.open(join(dir, 'kek.json'), () => {});
    const keyVault = (wrapLocally: boolean) => new KeyVaultKeyWrapper(vault.keyId(), vault.credential, { clientOptions: vault.clientOptions, wrapLocally });
    const rows = [
      await measure('local key file', local, { seal: FAST, coldOpen: FAST }),
      await measure('Key Vault fake, local wrap', keyVault(true), { seal: FAST, coldOpen: REMOTE }),
      await measure('Key Vault fake, wrapkey call', keyVault(false), { seal: REMOTE, coldOpen: REMOTE }),
    ];
    const calls = await countKeyVaultCalls(vault, keyVault(true));

    const fields = Object.keys(record).length;
    const bytes = Object.values(record).reduce((n, v) => n + v.length, 0);
    console.log(`Envelope cost per record (${fields} fields, ${bytes} bytes of sealed fields), median µs, Node ${process.version}`);
    console.log(
      table(
        ['KEK', 'seal', 'open (warm DEK)', 'open (cold DEK)'],
        rows.map((r) => [r.wrapper, r.seal.toFixed(1), r.warmOpen.toFixed(1), r.coldOpen.toFixed(1)]),
      ),
    );
    console.log(`\nKey Vault calls counted at the fake (local wrap, the default), over ${RECORDS} records`);
    console.log(
      table(
        ['measure', 'calls', 'target'],
        [
          ['unwrap calls per cold read', calls.coldUnwraps.toFixed(2), '1'],
          ['all calls per cold read (incl. one 401 challenge per SDK client)', calls.coldAll.toFixed(2), '1'],
          [`all calls per ${WARM_READS.toLocaleString('en')} warm reads`, String(calls.warmAll), '0'],
          ['all calls per seal (record write)', calls.sealAll.toFixed(2), '0'],
        ],
      ),
    );
    console.log('\nThe fake is on loopback: real Key Vault adds a network round trip (milliseconds) to every call counted above.');
  } finally {
    await vault.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
