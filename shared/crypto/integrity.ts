import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import { DecryptionError, TamperedRecordError, type TamperReason } from '../errors';
import { lruCache } from '../lruCache';
import { metrics } from '../metrics';
import { readEntity } from '../store/countedPartition';
import { isConflict, unavailable } from '../store/storageErrors';
import type { EnvelopeCipher, RecordLocation } from './envelope';

// Tamper detection for rows someone may write without Key Vault access (docs/storage.md, "Tamper
// detection"). Two tools, one key system:
// - sealed records carry a binding in their AAD (a digest of the plain configuration they are used
//   with, and a version): EnvelopeCipher's `binding`;
// - rows without secrets worth sealing (access policies, webhook subscriptions) carry an HMAC over
//   their columns and a version. The HMAC key is itself an envelope (a random key sealed with the
//   KEK like any secret), in one row of the providers table: key rotation rewraps it with the rest.
// Every version is a number that only grows (max(previous + 1, now in ms)), so a row deleted and
// created again still goes up, and an instance refuses a row older than one it has seen.

/** The row that holds the sealed HMAC key; its partition holds no identifiers. */
export const INTEGRITY_KEY_ROW = { partitionKey: '!integrity', rowKey: 'rowMac' } as const;
/** The column each protected row carries its version in (in the MAC or the AAD binding). */
export const VERSION_COLUMN = 'sealVersion';
const MAC_COLUMN = 'mac';
const MAC_LABEL = 'credman/row-mac/v1';
/** Columns a MAC does not cover: itself, and what Table storage sets. */
const UNCOVERED = new Set([MAC_COLUMN, 'etag', 'timestamp', 'odata.etag', 'odata.metadata']);

/** JSON with object keys sorted at every level and undefined members dropped: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('base64url');
}

/** What a stored row looks like to the checks: its columns as read (Table storage adds `timestamp`). */
export type StoredRow = Record<string, unknown> & { timestamp?: string; sealVersion?: number; secrets?: string };

export interface RecordIntegrityOptions {
  /** Told of every refused row (kind, where, why): a log line, never the row's content. */
  report?: (record: string, loc: RecordLocation, reason: TamperReason) => void;
  /**
   * Whether protected rows exist already. The HMAC key is created only when none do: a missing key
   * with protected rows around means someone deleted it (to get a new one that would let rows
   * without a MAC in), and nothing is accepted until an operator looks.
   */
  hasProtectedRows?: () => Promise<boolean>;
  now?: () => number;
  /** Most rows whose highest version this instance remembers. */
  maxRemembered?: number;
}

interface MacKey {
  key: Buffer;
  /** When the key was made: rows without protection written before it are from before the upgrade. */
  since: number;
}

export class RecordIntegrity {
  private key?: Promise<MacKey>;
  private readonly highest;
  private readonly now: () => number;

  constructor(
    private readonly cipher: EnvelopeCipher,
    private readonly keyTable: TableClient,
    private readonly options: RecordIntegrityOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.highest = lruCache<string, number>(options.maxRemembered ?? 100_000);
  }

  /**
   * Makes sure the HMAC key exists (creating it on first use): called before a protected row is
   * first written, so that the key is never missing while protected rows exist.
   */
  async ready(): Promise<void> {
    await this.macKey();
  }

  /** The version for a write after `previous`: above it, and above any earlier life of the row. */
  nextVersion(previous: number | undefined): number {
    return Math.max((typeof previous === 'number' ? previous : 0) + 1, this.now());
  }

  /** Records that `version` of the row was read; one older than this instance has seen is a rollback. */
  private observe(record: string, loc: RecordLocation, version: number): void {
    const seen = this.highest.get(rowKeyOf(loc));
    if (seen !== undefined && version < seen) throw this.tampered(record, loc, 'Rollback');
    this.written(loc, version);
  }

  /** Records a version this instance wrote, once storage took the write: an older one read later is a rollback. */
  written(loc: RecordLocation, version: number | undefined): void {
    if (typeof version !== 'number') return;
    const key = rowKeyOf(loc);
    const seen = this.highest.get(key);
    if (seen === undefined || version > seen) this.highest.set(key, version);
  }

  /**
   * Records that the row was deleted through this instance: a copy of it restored later carries an
   * older version than now and is refused here (a row created again gets a newer one).
   */
  deleted(loc: RecordLocation): void {
    this.highest.set(rowKeyOf(loc), this.now());
  }

  /** Adds the version (after `previous`) and the MAC to a row about to be written. */
  async protect<T extends object>(loc: RecordLocation, entity: T, previous: number | undefined): Promise<T & { sealVersion: number; mac: string }> {
    const versioned = { ...entity, [VERSION_COLUMN]: this.nextVersion(previous) } as T & { sealVersion: number };
    // Not observed here: the write may still lose (an ETag race, If-Match), and a version this
    // instance remembered but storage never got would make the row look rolled back.
    const mac = this.macOf((await this.macKey()).key, loc, versioned);
    return { ...versioned, [MAC_COLUMN]: mac };
  }

  /** Throws (and reports) unless the row carries a valid MAC, or is an unprotected row from before protection began. */
  async verify(record: string, loc: RecordLocation, stored: object): Promise<void> {
    const row = stored as StoredRow;
    const { key, since } = await this.macKey();
    const mac = row[MAC_COLUMN];
    if (typeof mac !== 'string') {
      this.acceptUnprotected(record, loc, row, since);
      return;
    }
    const expected = Buffer.from(this.macOf(key, loc, row));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || typeof row.sealVersion !== 'number') {
      throw this.tampered(record, loc, 'MacMismatch');
    }
    this.observe(record, loc, row.sealVersion);
  }

  /** The rows that verify; each one that does not is reported and left out. */
  async verified<R extends object>(record: string, locOf: (row: R) => RecordLocation, rows: R[]): Promise<R[]> {
    const out: R[] = [];
    for (const row of rows) {
      try {
        await this.verify(record, locOf(row), row);
        out.push(row);
      } catch (err) {
        if (!(err instanceof TamperedRecordError)) throw err;
      }
    }
    return out;
  }

  /**
   * Opens a row's envelope bound to `binding(version)`, checking the version against what this
   * instance has seen. A row without a version is from before binding began: accepted only if it
   * was last written before the HMAC key was made (Table storage sets `timestamp`; a writer cannot).
   */
  async openBound(record: string, loc: RecordLocation, stored: object, binding: (version: number) => string): Promise<Record<string, string>> {
    const row = stored as StoredRow;
    const version = row[VERSION_COLUMN];
    if (version === undefined || version === null) {
      this.acceptUnprotected(record, loc, row, (await this.macKey()).since);
      return row.secrets ? this.open(record, loc, row.secrets) : {};
    }
    if (typeof version !== 'number' || typeof row.secrets !== 'string') throw this.tampered(record, loc, 'Malformed');
    const fields = await this.open(record, loc, row.secrets, binding(version));
    this.observe(record, loc, version);
    return fields;
  }

  /** EnvelopeCipher.open, with a failure to open reported as tampering (typed, 409) instead of a 500. */
  async open(record: string, loc: RecordLocation, sealed: string, binding?: string): Promise<Record<string, string>> {
    try {
      return await this.cipher.open(loc, sealed, binding);
    } catch (err) {
      if (err instanceof DecryptionError) throw this.tampered(record, loc, reasonOf(err), err);
      throw err;
    }
  }

  /** The error for a refused row, reported once. */
  tampered(record: string, loc: RecordLocation, reason: TamperReason, cause?: unknown): TamperedRecordError {
    metrics.tamperedRecords++;
    this.options.report?.(record, loc, reason);
    return new TamperedRecordError(record, reason, cause);
  }

  private acceptUnprotected(record: string, loc: RecordLocation, row: StoredRow, since: number): void {
    const written = typeof row.timestamp === 'string' ? Date.parse(row.timestamp) : NaN;
    if (!(written < since)) throw this.tampered(record, loc, 'Unprotected');
  }

  private macOf(key: Buffer, loc: RecordLocation, row: StoredRow): string {
    const covered: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(row)) {
      if (UNCOVERED.has(name) || name.endsWith('@odata.type') || value === undefined || value === null) continue;
      // An envelope is covered by its field ciphertexts, which key rotation's rewrap keeps.
      covered[name] = name === 'secrets' && typeof value === 'string' ? this.envelopeFields(value) : value;
    }
    return createHmac('sha256', key)
      .update(canonicalJson([MAC_LABEL, loc.table, loc.partitionKey, loc.rowKey, covered]), 'utf8')
      .digest('base64url');
  }

  private envelopeFields(sealed: string): unknown {
    try {
      return this.cipher.fieldsOf(sealed);
    } catch {
      return sealed;
    }
  }

  private macKey(): Promise<MacKey> {
    this.key ??= this.loadKey().catch((err: unknown) => {
      this.key = undefined;
      throw err;
    });
    return this.key;
  }

  private async loadKey(): Promise<MacKey> {
    const loc: RecordLocation = { table: this.keyTable.tableName, ...INTEGRITY_KEY_ROW };
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = await readEntity<{ secrets?: string }>(this.keyTable, loc.partitionKey, loc.rowKey);
      if (row) {
        const fields = typeof row.secrets === 'string' ? await this.open('integrity key', loc, row.secrets) : {};
        const key = Buffer.from(fields.key ?? '', 'base64');
        const since = Number(fields.since);
        if (key.length !== 32 || !Number.isSafeInteger(since)) throw this.tampered('integrity key', loc, 'Malformed');
        return { key, since };
      }
      if (await this.options.hasProtectedRows?.()) throw this.tampered('integrity key', loc, 'IntegrityKeyMissing');
      const secrets = await this.cipher.seal(loc, { key: randomBytes(32).toString('base64'), since: String(this.now()) });
      try {
        await this.keyTable.createEntity({ ...INTEGRITY_KEY_ROW, secrets });
      } catch (err) {
        // Another instance made it first: read theirs.
        if (!isConflict(err)) unavailable(err);
      }
    }
    throw this.tampered('integrity key', loc, 'IntegrityKeyMissing');
  }
}

const rowKeyOf = (loc: RecordLocation): string => `${loc.table}\u0000${loc.partitionKey}\u0000${loc.rowKey}`;

function reasonOf(err: DecryptionError): TamperReason {
  const reason = err.code.replace(/^Decryption/, '');
  return reason === 'Malformed' || reason === 'UnwrapFailed' || reason === 'UnknownKeyVersion' ? reason : 'Tampered';
}
