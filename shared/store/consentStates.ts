import { createHash, timingSafeEqual } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { EnvelopeCipher } from '../crypto';
import type { RecordIntegrity } from '../crypto/integrity';
import { TamperedRecordError } from '../errors';
import { readEntity } from './countedPartition';
import { isConflict, isNotFound, isPreconditionFailed, unavailable } from './storageErrors';

// Consent in flight, one row per secret handle (docs/oauth.md, "Consent (authorization code)"):
// a login link's state (`login`), the OAuth state of a sign-in under way at the identity provider
// (`flight`), or the consent code of tokens waiting for confirmation (`pending`). A followed
// login link leaves a `used` tombstone until its expiry, so a second follower learns why it
// fails. Rows are keyed by the SHA-256 of the handle, so reading the table gives nothing a
// browser could use; each is its own partition (no hot spot). A row is used once: taking it is
// a delete (or, for a login link, a replace by the tombstone) guarded by its ETag, which only
// one caller can win.
// Rows carry a MAC (shared/crypto/integrity.ts) like access policies: anyone with the KEK's public
// half can seal an envelope, so without it a storage writer could forge a login link for any
// connection (and requester), follow it, confirm their own account into it; or move a held
// consent to another connection or redirect URL. A row that fails is treated as never issued.

export type ConsentKind = 'login' | 'flight' | 'pending' | 'used';

export interface ConsentRow {
  kind: ConsentKind;
  providerId: string;
  connectionId: string;
  redirectUrl?: string;
  /** Epoch ms after which the row is dead. */
  expiresAt: number;
  /** SHA-256 of the browser-binding cookie: the browser that followed the link (`flight`) or completed it (`pending`). */
  bindingHash?: string;
  secrets: Record<string, string>;
  etag: string;
}

interface ConsentEntity {
  kind: ConsentKind;
  providerId: string;
  connectionId: string;
  redirectUrl?: string;
  expiresAt: number;
  bindingHash?: string;
  /** Sealed; empty in a `used` tombstone. */
  secrets: string;
}

export const handleHash = (handle: string): string => createHash('sha256').update(handle, 'utf8').digest('base64url');

/** Does the cookie a browser sent hash to the binding a row holds? Constant-time; false when either is missing. */
export function bindingMatches(cookie: string | undefined, bindingHash: string | undefined): boolean {
  if (cookie === undefined || !bindingHash) return false;
  const a = Buffer.from(handleHash(cookie));
  const b = Buffer.from(bindingHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class ConsentStateStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: EnvelopeCipher,
    private readonly integrity: RecordIntegrity,
  ) {}

  async create(handle: string, row: Omit<ConsentRow, 'etag'>): Promise<void> {
    const key = handleHash(handle);
    const plain: ConsentEntity & { partitionKey: string; rowKey: string } = {
      partitionKey: key,
      rowKey: key,
      kind: row.kind,
      providerId: row.providerId,
      connectionId: row.connectionId,
      ...(row.redirectUrl ? { redirectUrl: row.redirectUrl } : {}),
      expiresAt: row.expiresAt,
      ...(row.bindingHash ? { bindingHash: row.bindingHash } : {}),
      secrets: await this.sealer.seal(this.loc(key), row.secrets),
    };
    const entity = await this.integrity.protect(this.loc(key), plain, undefined);
    try {
      await this.table.createEntity(entity);
    } catch (err) {
      if (isConflict(err)) throw new Error('consent handle collision', { cause: err }); // 256 random bits: never
      unavailable(err);
    }
  }

  /** The row for a handle, if it exists and has the kind asked for (expiry is the caller's check). */
  async read(handle: string, kind: Exclude<ConsentKind, 'used'>): Promise<ConsentRow | undefined> {
    if (!handle || handle.length > 200) return undefined;
    const key = handleHash(handle);
    const e = await readEntity<ConsentEntity>(this.table, key, key);
    if (!e || e.kind !== kind) return undefined;
    try {
      await this.integrity.verify('consent state', this.loc(key), e);
    } catch (err) {
      // Reported as tampering by verify; to the browser it is a link credman never issued.
      if (err instanceof TamperedRecordError) return undefined;
      throw err;
    }
    return {
      kind: e.kind,
      providerId: e.providerId,
      connectionId: e.connectionId,
      ...(e.redirectUrl ? { redirectUrl: e.redirectUrl } : {}),
      expiresAt: e.expiresAt,
      ...(e.bindingHash ? { bindingHash: e.bindingHash } : {}),
      secrets: await this.sealer.open(this.loc(key), e.secrets),
      etag: e.etag,
    };
  }

  /** The kind of row a handle has, if any (to tell a used login link from one never issued). */
  async kindOf(handle: string): Promise<ConsentKind | undefined> {
    if (!handle || handle.length > 200) return undefined;
    const key = handleHash(handle);
    return (await readEntity<ConsentEntity>(this.table, key, key))?.kind;
  }

  /**
   * Consumes a login link: replaces its row by a `used` tombstone (no secrets) that lives to the
   * same expiry. True for exactly one caller, false for every other (followed already, or gone).
   */
  async consume(handle: string, row: ConsentRow): Promise<boolean> {
    const key = handleHash(handle);
    const tombstone: ConsentEntity & { partitionKey: string; rowKey: string } = {
      partitionKey: key,
      rowKey: key,
      kind: 'used',
      providerId: row.providerId,
      connectionId: row.connectionId,
      expiresAt: row.expiresAt,
      secrets: '',
    };
    try {
      await this.table.updateEntity(tombstone, 'Replace', { etag: row.etag });
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      return unavailable(err);
    }
  }

  /** Takes the row: true for exactly one caller, false for every other (used, replaced or gone). */
  async take(handle: string, row: ConsentRow): Promise<boolean> {
    const key = handleHash(handle);
    try {
      await this.table.deleteEntity(key, key, { etag: row.etag });
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      return unavailable(err);
    }
  }

  /** Deletes rows past their expiry (a timer runs it); returns how many went. Used ones are gone already. */
  async purgeExpired(now: number, concurrency = 16): Promise<number> {
    const expired: Array<{ partitionKey: string; rowKey: string; etag: string }> = [];
    try {
      const rows = this.table.listEntities<{ etag: string }>({ queryOptions: { filter: odata`expiresAt lt ${now}`, select: ['PartitionKey', 'RowKey'] } });
      for await (const e of rows) expired.push({ partitionKey: e.partitionKey as string, rowKey: e.rowKey as string, etag: e.etag });
    } catch (err) {
      return unavailable(err);
    }
    let deleted = 0;
    const queue = [...expired];
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let e = queue.pop(); e; e = queue.pop()) {
          try {
            await this.table.deleteEntity(e.partitionKey, e.rowKey, { etag: e.etag });
            deleted++;
          } catch (err) {
            // Taken by a callback meanwhile, or changed: not ours to delete.
            if (!isNotFound(err) && !isPreconditionFailed(err)) unavailable(err);
          }
        }
      }),
    );
    return deleted;
  }

  private loc(key: string) {
    return { table: this.table.tableName, partitionKey: key, rowKey: key };
  }
}
