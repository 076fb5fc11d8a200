import { createHash } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { EnvelopeCipher } from '../crypto';
import { readEntity } from './countedPartition';
import { isConflict, isNotFound, isPreconditionFailed, unavailable } from './storageErrors';

// Consent in flight, one row per secret handle: a login link's `state`, or the consent code of
// tokens waiting for the person's confirmation. Rows are keyed by the SHA-256 of the handle, so
// reading the table gives nothing a browser could use; each is its own partition (no hot spot).
// A row is used once: taking it is a delete guarded by its ETag, which only one caller can win.

export type ConsentKind = 'login' | 'pending';

export interface ConsentRow {
  kind: ConsentKind;
  providerId: string;
  connectionId: string;
  redirectUrl?: string;
  /** Epoch ms after which the row is dead. */
  expiresAt: number;
  /** SHA-256 of the browser-binding cookie set when the login link was followed. */
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
  secrets: string;
}

export const handleHash = (handle: string): string => createHash('sha256').update(handle, 'utf8').digest('base64url');

export class ConsentStateStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: EnvelopeCipher,
  ) {}

  async create(handle: string, row: Omit<ConsentRow, 'etag' | 'bindingHash'>): Promise<void> {
    const key = handleHash(handle);
    const entity: ConsentEntity & { partitionKey: string; rowKey: string } = {
      partitionKey: key,
      rowKey: key,
      kind: row.kind,
      providerId: row.providerId,
      connectionId: row.connectionId,
      ...(row.redirectUrl ? { redirectUrl: row.redirectUrl } : {}),
      expiresAt: row.expiresAt,
      secrets: await this.sealer.seal(this.loc(key), row.secrets),
    };
    try {
      await this.table.createEntity(entity);
    } catch (err) {
      if (isConflict(err)) throw new Error('consent handle collision'); // 256 random bits: never
      unavailable(err);
    }
  }

  /** The row for a handle, if it exists and has the kind asked for (expiry is the caller's check). */
  async read(handle: string, kind: ConsentKind): Promise<ConsentRow | undefined> {
    if (!handle || handle.length > 200) return undefined;
    const key = handleHash(handle);
    const e = await readEntity<ConsentEntity>(this.table, key, key);
    if (!e || e.kind !== kind) return undefined;
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

  /** Binds the login to the browser that followed the link (the last one to follow it wins). */
  async bind(handle: string, row: ConsentRow, bindingHash: string): Promise<boolean> {
    const key = handleHash(handle);
    try {
      await this.table.updateEntity({ partitionKey: key, rowKey: key, bindingHash }, 'Merge', { etag: row.etag });
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
