import { odata, type TableClient, type TableEntity, type TableEntityResult, type TableTransactionResponse, type TransactionAction } from '@azure/data-tables';
import { LimitExceededError, PreconditionFailedError } from '../errors';
import { KeyedLock } from './keyedLock';
import { isConflict, isNotFound, isPreconditionFailed, unavailable } from './storageErrors';

// Each partition holds a counter row beside its items. Every insert and delete changes the item
// and the counter in one entity-group transaction guarded by the counter's ETag, so a limit
// (1,000 providers, 10,000 connections, 100 policies) holds exactly under any concurrency, and
// counting never scans the partition. The counter's key sorts before every identifier.

export const COUNTER_ROW = '!count';
/** Identifiers start with [A-Za-z0-9]; '0' is the smallest such character. */
export const FIRST_ITEM_ROW = '0';

const MAX_ATTEMPTS = 30;
const partitionLock = new KeyedLock();
const lockKey = (client: TableClient, pk: string) => `${client.tableName}\u0000${pk}`;

/** Jittered backoff between optimistic-concurrency retries (other instances hold the ETag). */
const backoff = (attempt: number) => (attempt === 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt))));

interface Counter {
  count: number;
  etag?: string;
}

async function readCounter(client: TableClient, pk: string): Promise<Counter> {
  try {
    const e = await client.getEntity<{ count: number }>(pk, COUNTER_ROW);
    return { count: e.count, etag: e.etag };
  } catch (err) {
    if (isNotFound(err)) return { count: 0 };
    return unavailable(err);
  }
}

function counterAction(pk: string, c: Counter, next: number): TransactionAction {
  const entity = { partitionKey: pk, rowKey: COUNTER_ROW, count: next };
  return c.etag ? ['update', entity, 'Replace', { etag: c.etag }] : ['create', entity];
}

async function submit(client: TableClient, actions: TransactionAction[]): Promise<TableTransactionResponse | 'conflict'> {
  try {
    return await client.submitTransaction(actions);
  } catch (err) {
    if (isConflict(err) || isPreconditionFailed(err)) return 'conflict';
    return unavailable(err);
  }
}

/** RFC 9110 If-Match: `*` matches any current item, an ETag only its own; nothing matches an absent item. */
export function ifMatchFails(ifMatch: string | undefined, etag: string | undefined): boolean {
  if (ifMatch === undefined) return false;
  return etag === undefined || (ifMatch !== '*' && ifMatch !== etag);
}

/** A write's HTTP preconditions (RFC 9110): `If-Match`, or `If-None-Match: *` (create only). */
export interface Precondition {
  ifMatch?: string;
  /** `If-None-Match: *`: create only; an item already there is 412, never replaced. */
  createOnly?: boolean;
}

export type BuildEntity<T extends object> = (existing: TableEntityResult<T> | undefined) => Promise<TableEntity<T>>;
export interface UpsertOptions extends Precondition {
  limit: number;
  limitMessage: string;
}

export interface Upserted<T extends object> {
  created: boolean;
  etag: string;
  /** What was written, so that callers need not read it back. */
  entity: TableEntity<T>;
}

/**
 * Creates the item if absent (subject to `limit`), or replaces it if present — conditionally on
 * `ifMatch` when given, never with `createOnly`. `build` makes the entity to write from the current one, if any, so that
 * a replace can keep what the caller does not own (creation time, state, tokens).
 */
export function upsertCounted<T extends object>(client: TableClient, pk: string, rk: string, build: BuildEntity<T>, opts: UpsertOptions): Promise<Upserted<T>> {
  return partitionLock.run(lockKey(client, pk), () => upsertLocked(client, pk, rk, build, opts));
}

async function upsertLocked<T extends object>(client: TableClient, pk: string, rk: string, build: BuildEntity<T>, opts: UpsertOptions): Promise<Upserted<T>> {
  const conditional = opts.ifMatch !== undefined && opts.ifMatch !== '*';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await backoff(attempt);
    const existing = await readEntity<T>(client, pk, rk);
    if (existing) {
      if (opts.createOnly || ifMatchFails(opts.ifMatch, existing.etag)) throw new PreconditionFailedError();
      const entity = await build(existing);
      try {
        const r = await client.updateEntity(entity, 'Replace', { etag: existing.etag });
        return { created: false, etag: r.etag ?? '', entity };
      } catch (err) {
        if (isPreconditionFailed(err) || isNotFound(err)) {
          if (conditional) throw new PreconditionFailedError();
          continue;
        }
        return unavailable(err);
      }
    }
    if (ifMatchFails(opts.ifMatch, undefined)) throw new PreconditionFailedError();
    const counter = await readCounter(client, pk);
    if (counter.count >= opts.limit) throw new LimitExceededError(opts.limitMessage);
    const entity = await build(undefined);
    const r = await submit(client, [['create', entity], counterAction(pk, counter, counter.count + 1)]);
    if (r === 'conflict') continue;
    const etag = r.getResponseForEntity(rk)?.etag ?? (await readEntity<T>(client, pk, rk))?.etag ?? '';
    return { created: true, etag, entity };
  }
  throw new PreconditionFailedError('The resource is being changed concurrently; try again.');
}

/** Deletes the item and decrements the counter; false when it was absent. */
export function deleteCounted(client: TableClient, pk: string, rk: string, ifMatch?: string): Promise<boolean> {
  return partitionLock.run(lockKey(client, pk), () => deleteLocked(client, pk, rk, ifMatch));
}

async function deleteLocked(client: TableClient, pk: string, rk: string, ifMatch?: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await backoff(attempt);
    const existing = await readEntity(client, pk, rk);
    if (ifMatchFails(ifMatch, existing?.etag)) throw new PreconditionFailedError();
    if (!existing) return false;
    const counter = await readCounter(client, pk);
    const r = await submit(client, [
      // A transaction's delete cannot carry an ETag; the counter's ETag serialises it with
      // creates and deletes, and If-Match was checked on the read just before.
      ['delete', { partitionKey: pk, rowKey: rk }],
      counterAction(pk, counter, Math.max(0, counter.count - 1)),
    ]);
    if (r !== 'conflict') return true;
  }
  throw new PreconditionFailedError('The resource is being changed concurrently; try again.');
}

export async function readEntity<T extends object>(client: TableClient, pk: string, rk: string): Promise<TableEntityResult<T> | undefined> {
  try {
    return await client.getEntity<T>(pk, rk);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    return unavailable(err);
  }
}

/** Removes a whole partition (items and counter) in transactions of 100, the service's maximum. */
export async function deletePartition(client: TableClient, pk: string, onDeleted?: (rowKey: string) => void): Promise<number> {
  let deleted = 0;
  for (;;) {
    const keys: string[] = [];
    const iter = client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${pk}`, select: ['RowKey'] } }).byPage({ maxPageSize: 100 });
    for await (const page of iter) {
      for (const e of page) keys.push(e.rowKey as string);
      break;
    }
    if (keys.length === 0) return deleted;
    try {
      await client.submitTransaction(keys.map((rk) => ['delete', { partitionKey: pk, rowKey: rk }]));
      deleted += keys.filter((k) => !k.startsWith('!')).length; // '!' rows (the counter, budgets) are no items
      if (onDeleted) for (const k of keys) onDeleted(k);
    } catch (err) {
      // A row deleted concurrently fails the batch; the next round lists what is left.
      if (!isNotFound(err)) unavailable(err);
    }
  }
}
