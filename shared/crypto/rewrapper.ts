import { odata, type TableClient } from '@azure/data-tables';
import { isNotFound, isPreconditionFailed, unavailable } from '../store/storageErrors';
import type { EnvelopeCipher } from './envelope';

// Key rotation: moves every envelope of a table to the KEK's current version by rewrapping its
// data key (one unwrap + one local wrap per row; field ciphertexts untouched). One page at a
// time, so an orchestration can fan pages out as activities and resume after a crash; each row
// is replaced only if unchanged since it was read (ETag), and a row written meanwhile was sealed
// with the current version anyway. Reads keep working throughout: old versions stay usable.

export interface RewrapPage {
  scanned: number;
  rewrapped: number;
  /** Opaque continuation for the next page; absent at the end of the table. */
  next?: string;
}

/**
 * `eligible` leaves rows out: a row from before tamper detection that is accepted only because it
 * was last written before it began (shared/crypto/integrity.ts) would be refused once a rewrap
 * changed its timestamp; it keeps its KEK version until the API writes it again.
 */
export async function rewrapPage(
  table: TableClient,
  cipher: EnvelopeCipher,
  continuation: string | undefined,
  pageSize = 200,
  concurrency = 8,
  eligible: (row: { partitionKey?: string; sealVersion?: unknown }) => boolean = () => true,
): Promise<RewrapPage> {
  // Re-read once per page: a rotation started right after Key Vault rotated must see the new version.
  const current = await cipher.currentKeyId({ fresh: true });
  let page;
  try {
    const pages = table
      .listEntities<{ secrets?: string; sealVersion?: number }>({ queryOptions: { filter: odata`secrets ne ${''}`, select: ['PartitionKey', 'RowKey', 'secrets', 'sealVersion'] } })
      .byPage({ maxPageSize: pageSize, ...(continuation ? { continuationToken: continuation } : {}) });
    page = (await pages.next()).value as (Array<{ partitionKey?: string; rowKey?: string; etag: string; secrets?: string; sealVersion?: number }> & { continuationToken?: string }) | undefined;
  } catch (err) {
    return unavailable(err);
  }
  if (!page) return { scanned: 0, rewrapped: 0 };
  const stale = page.filter((e) => e.secrets && eligible(e) && cipher.keyIdOf(e.secrets) !== current);
  let rewrapped = 0;
  const queue = [...stale];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let e = queue.pop(); e; e = queue.pop()) {
        const secrets = await cipher.rewrap(e.secrets as string);
        try {
          await table.updateEntity({ partitionKey: e.partitionKey as string, rowKey: e.rowKey as string, secrets }, 'Merge', { etag: e.etag });
          rewrapped++;
        } catch (err) {
          if (!isPreconditionFailed(err) && !isNotFound(err)) unavailable(err);
        }
      }
    }),
  );
  return { scanned: page.length, rewrapped, ...(page.continuationToken ? { next: page.continuationToken } : {}) };
}
