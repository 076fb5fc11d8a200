import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { statusOf, StorageTimeoutError } from './storageErrors';

export const TABLE_NAMES = ['providers', 'connections', 'accessPolicies', 'consentStates', 'webhooks'] as const;
export type TableName = (typeof TABLE_NAMES)[number];
export type Tables = Record<TableName, TableClient>;

export interface StorageOptions {
  connectionString?: string;
  tableEndpoint?: string;
  tablePrefix: string;
}

/** How long one Table Storage request may go unanswered before it is abandoned. */
export const STORAGE_REQUEST_TIMEOUT_MS = 10_000;

interface TableClientOptions {
  /** Per request; `STORAGE_REQUEST_TIMEOUT_MS` by default. */
  timeoutMs?: number;
  /** Told which request got no answer in time. */
  log?: (message: string) => void;
}

/**
 * One TableClient per table, by connection string (Azurite) or by managed identity (Azure). Nothing
 * is asked of storage here: a table is created by the first write that finds it missing (see
 * `createdOnFirstWrite`), instead of five create calls at every start of every instance.
 */
export function createTables(options: StorageOptions, credential: () => TokenCredential, clientOptions: TableClientOptions = {}): Tables {
  const make = (name: TableName): TableClient => createdOnFirstWrite(tableClient(options, `${options.tablePrefix}${name[0].toUpperCase()}${name.slice(1)}`, credential, clientOptions));
  return {
    providers: make('providers'),
    connections: make('connections'),
    accessPolicies: make('accessPolicies'),
    consentStates: make('consentStates'),
    webhooks: make('webhooks'),
  };
}

/** A client of one table, by connection string or by identity, each request with a timeout. */
export function tableClient(options: Omit<StorageOptions, 'tablePrefix'>, table: string, credential: () => TokenCredential, clientOptions: TableClientOptions = {}): TableClient {
  const client = options.connectionString
    ? TableClient.fromConnectionString(options.connectionString, table, {
        allowInsecureConnection: /^DefaultEndpointsProtocol=http;|TableEndpoint=http:/i.test(options.connectionString),
      })
    : new TableClient(options.tableEndpoint as string, table, credential());
  return withRequestTimeout(client, clientOptions);
}

/**
 * Gives every request of the client a timeout. The SDK sets none, so a storage endpoint that
 * accepts connections and never answers would hold a request, or a start, for ever and say
 * nothing. A request that times out is not retried (the SDK's retry policy lets an abort through)
 * and fails with a StorageTimeoutError naming it (method and table); callers
 * turn it into a 503 like any storage failure.
 */
function withRequestTimeout(client: TableClient, { timeoutMs = STORAGE_REQUEST_TIMEOUT_MS, log }: TableClientOptions = {}): TableClient {
  client.pipeline.addPolicy({
    name: 'credmanRequestTimeout',
    async sendRequest(request, next) {
      if (!request.timeout) request.timeout = timeoutMs;
      try {
        return await next(request);
      } catch (err) {
        // An abort the caller asked for (its abortSignal) is the caller's; any other is the timeout.
        if ((err as { name?: unknown })?.name !== 'AbortError' || request.abortSignal?.aborted) throw err;
        // The table, not the row: keys and queries stay out of logs.
        const table = new URL(request.url).pathname.replace(/\(.*$/, '');
        const timeout = new StorageTimeoutError(`Table storage did not answer ${request.method} ${table} within ${request.timeout / 1000} s`, { cause: err });
        log?.(timeout.message);
        throw timeout;
      }
    },
  });
  return client;
}

/** Storage's answer that the table itself does not exist (x-ms-error-code, or a batch's inner error). */
function isTableNotFound(err: unknown): boolean {
  if (statusOf(err) !== 404) return false;
  const e = err as { code?: unknown; details?: { errorCode?: unknown; odataError?: { code?: unknown } } };
  return [e.code, e.details?.errorCode, e.details?.odataError?.code].includes('TableNotFound');
}

/**
 * The client, changed so that a missing table behaves as an empty one: a write that adds rows
 * (createEntity, upsertEntity, submitTransaction) creates the table and is tried once more, and a
 * listing yields nothing. Reads of one row, updates and deletes need nothing: their 404 already
 * means "no such row" to every caller, and a missing table has none.
 */
function createdOnFirstWrite(client: TableClient): TableClient {
  let creating: Promise<void> | undefined;
  // Concurrent first writes share one create; createTable succeeds when the table exists already.
  const create = () => (creating ??= client.createTable().finally(() => (creating = undefined)));
  const retried = <F extends (...args: never[]) => Promise<unknown>>(fn: F): F =>
    (async (...args: Parameters<F>) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (!isTableNotFound(err)) throw err;
        await create();
        return fn(...args);
      }
    }) as F;
  client.createEntity = retried(client.createEntity.bind(client));
  client.upsertEntity = retried(client.upsertEntity.bind(client));
  client.submitTransaction = retried(client.submitTransaction.bind(client));

  const list = client.listEntities.bind(client);
  client.listEntities = ((options?: Parameters<TableClient['listEntities']>[0]) => {
    const source = list(options);
    const items = emptyWhenMissing(source);
    return {
      next: () => items.next(),
      [Symbol.asyncIterator]() {
        return this;
      },
      byPage: (settings?: Parameters<typeof source.byPage>[0]) => emptyWhenMissing(source.byPage(settings)),
    };
  }) as TableClient['listEntities'];
  return client;
}

async function* emptyWhenMissing<T>(source: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  try {
    yield* source;
  } catch (err) {
    if (!isTableNotFound(err)) throw err;
  }
}
