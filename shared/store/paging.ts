import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import { InvalidQueryError } from '../errors';
import { IDENTIFIER_PATTERN } from '../model/identifiers';
import { FIRST_ITEM_ROW } from './countedPartition';
import { unavailable } from './storageErrors';

// $skipToken is opaque to clients: base64url of the last row key served. Decoding validates it
// as an identifier, so a forged token can only move the cursor, never inject a filter.

export interface Page<T> {
  items: T[];
  skipToken?: string;
}

export function encodeSkipToken(rowKey: string): string {
  return Buffer.from(JSON.stringify({ after: rowKey }), 'utf8').toString('base64url');
}

export function decodeSkipToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string' && IDENTIFIER_PATTERN.test(parsed.after)) return parsed.after;
  } catch {
    // fall through
  }
  throw new InvalidQueryError('$skipToken', 'The $skipToken is not valid; use the nextLink of a previous page.');
}

/** One page of a partition's items in row-key order, skipping the partition's counter row. */
/** `where`: an extra condition, built with `odata` (never from raw input). */
export async function listPartition<T extends object>(client: TableClient, partitionKey: string, top: number, skipToken: string | undefined, where?: string): Promise<Page<TableEntityResult<T>>> {
  const after = decodeSkipToken(skipToken);
  const range = after === undefined ? odata`PartitionKey eq ${partitionKey} and RowKey ge ${FIRST_ITEM_ROW}` : odata`PartitionKey eq ${partitionKey} and RowKey gt ${after}`;
  const filter = where ? `${range} and (${where})` : range;
  const items: TableEntityResult<T>[] = [];
  try {
    // Ask for one more than a page: its presence says whether a next page exists.
    for await (const page of client.listEntities<T>({ queryOptions: { filter } }).byPage({ maxPageSize: top + 1 })) {
      items.push(...page);
      if (items.length > top) break;
    }
  } catch (err) {
    unavailable(err);
  }
  if (items.length <= top) return { items };
  const served = items.slice(0, top);
  return { items: served, skipToken: encodeSkipToken(served[top - 1].rowKey as string) };
}
