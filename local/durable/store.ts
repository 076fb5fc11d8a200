import { randomBytes } from 'node:crypto';
import { odata, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { tableClient } from '../../shared/store/tables';
import type { HistoryEvent, RuntimeStatus } from './history';

// The driver's state in Table Storage, in the app's storage account and table prefix:
//
//   <prefix>DurableInstances  PartitionKey = instance id, RowKey = ''        one row per instance:
//                             name, runtime status, execution id, created/last-updated times,
//                             input, output, custom status (as JSON text)
//   <prefix>DurableHistory    PartitionKey = instance id, and by RowKey:
//                             h.<executionId>.<seq>   one row per history event of an execution
//                             m.<time>.<n>.<rand>     one row per message not yet handed to the
//                                                     orchestrator: a start, an activity result, a
//                                                     timer firing, a raised event, a termination
//
// Texts longer than a property allows (64 KiB) are split across numbered properties; an entity
// stays under the 1 MiB limit or the write is refused with DurableSizeError.

const CHUNK_CHARS = 30_000;
/** Table Storage counts 2 bytes per character of a string property; keep clear of the 1 MiB entity limit. */
const MAX_ENTITY_TEXT_CHARS = 450_000;
const BATCH_ROWS = 100;
const BATCH_CHARS = 1_500_000;

export class DurableSizeError extends Error {
  override name = 'DurableSizeError';
}

export interface StoreOptions {
  connectionString?: string;
  tableEndpoint?: string;
  tablePrefix: string;
  credential?: () => TokenCredential;
  /** Per Table request, as the app's (shared/store/tables.ts): 10 s by default. */
  requestTimeoutMs?: number;
  /** Told which request got no answer in time. */
  log?: (message: string) => void;
}

export interface InstanceRow {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  executionId: string;
  createdTime: number;
  lastUpdatedTime: number;
  input: string | null;
  output: string | null;
  customStatus: string | null;
}

export type Message = ({ key: string; kind: 'start'; executionId: string; name: string; input: string | null } | { key: string; kind: 'event'; executionId: string | null; event: HistoryEvent }) & {
  /** In memory only: when a client-sent message may be taken (the driver's `clientMessageDelayMs`); a restarted host takes it at once. */
  visibleAt?: number;
};

export interface StoredHistory {
  /** Committed events of the execution, oldest first (an episode cut short by a crash is dropped). */
  events: HistoryEvent[];
  /** Keys of the messages those events came from (so a message seen by a committed episode is never replayed). */
  consumed: Set<string>;
  /** Row keys written after the last OrchestratorCompleted (an interrupted episode), to delete. */
  torn: string[];
}

export interface InstanceQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  instanceIdPrefix?: string;
}

function putText(entity: Record<string, unknown>, prop: string, text: string | null): void {
  if (text === null) return;
  const count = Math.max(1, Math.ceil(text.length / CHUNK_CHARS));
  for (let i = 0; i < count; i++) entity[i === 0 ? prop : `${prop}__${i}`] = text.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  if (count > 1) entity[`${prop}__n`] = count;
}

function getText(entity: Record<string, unknown>, prop: string): string | null {
  const first = entity[prop];
  if (typeof first !== 'string') return null;
  const count = typeof entity[`${prop}__n`] === 'number' ? (entity[`${prop}__n`] as number) : 1;
  let text = first;
  for (let i = 1; i < count; i++) text += (entity[`${prop}__${i}`] as string | undefined) ?? '';
  return text;
}

function textSize(entity: Record<string, unknown>): number {
  let n = 0;
  for (const v of Object.values(entity)) if (typeof v === 'string') n += v.length;
  return n;
}

function checkSize(entity: Record<string, unknown>, what: string): void {
  const size = textSize(entity);
  if (size > MAX_ENTITY_TEXT_CHARS) {
    throw new DurableSizeError(
      `${what} is ${size} characters, more than the ${MAX_ENTITY_TEXT_CHARS} a Table Storage row holds in the local durable driver (Azure keeps large payloads in blobs; keep them small here).`,
    );
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export class DurableStore {
  readonly instances: TableClient;
  readonly history: TableClient;
  private messageCounter = 0;

  constructor(options: StoreOptions) {
    if (!options.connectionString && (!options.tableEndpoint || !options.credential)) {
      throw new Error('The durable driver needs CREDMAN_STORAGE_CONNECTION_STRING or CREDMAN_TABLE_ENDPOINT.');
    }
    const make = (suffix: string) => tableClient(options, `${options.tablePrefix}${suffix}`, options.credential as () => TokenCredential, { timeoutMs: options.requestTimeoutMs, log: options.log });
    this.instances = make('DurableInstances');
    this.history = make('DurableHistory');
  }

  async ensureTables(): Promise<void> {
    await Promise.all([this.instances.createTable(), this.history.createTable()]);
  }

  // ---- instances

  async getInstance(instanceId: string): Promise<InstanceRow | undefined> {
    try {
      return toInstance(await this.instances.getEntity<Record<string, unknown>>(instanceId, ''));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  async putInstance(row: InstanceRow): Promise<void> {
    const entity: Record<string, unknown> = {
      partitionKey: row.instanceId,
      rowKey: '',
      Name: row.name,
      RuntimeStatus: row.runtimeStatus,
      ExecutionId: row.executionId,
      CreatedTime: new Date(row.createdTime),
      LastUpdatedTime: new Date(row.lastUpdatedTime),
    };
    putText(entity, 'Input', row.input);
    putText(entity, 'Output', row.output);
    putText(entity, 'CustomStatus', row.customStatus);
    checkSize(entity, `The state of instance '${row.instanceId}'`);
    await this.instances.upsertEntity(entity as TableEntity, 'Replace');
  }

  /** One page of instances matching `query` (`continuationToken` from the previous page). */
  async queryInstances(query: InstanceQuery, pageSize: number, continuationToken?: string): Promise<{ rows: InstanceRow[]; continuationToken?: string }> {
    const clauses: string[] = [];
    if (query.runtimeStatus?.length) clauses.push(`(${query.runtimeStatus.map((s) => odata`RuntimeStatus eq ${s}`).join(' or ')})`);
    if (query.createdTimeFrom) clauses.push(odata`CreatedTime ge ${query.createdTimeFrom}`);
    if (query.createdTimeTo) clauses.push(odata`CreatedTime le ${query.createdTimeTo}`);
    if (query.instanceIdPrefix) clauses.push(odata`PartitionKey ge ${query.instanceIdPrefix} and PartitionKey lt ${query.instanceIdPrefix + '\uffff'}`);
    const pages = this.instances
      .listEntities<Record<string, unknown>>({ queryOptions: clauses.length ? { filter: clauses.join(' and ') } : {} })
      .byPage({ maxPageSize: pageSize, ...(continuationToken ? { continuationToken } : {}) });
    const page = await pages.next();
    if (page.done) return { rows: [] };
    return {
      rows: page.value.map(toInstance),
      ...(page.value.continuationToken ? { continuationToken: page.value.continuationToken } : {}),
    };
  }

  async *allInstances(query: InstanceQuery): AsyncGenerator<InstanceRow> {
    let token: string | undefined;
    do {
      const page = await this.queryInstances(query, 1000, token);
      yield* page.rows;
      token = page.continuationToken;
    } while (token);
  }

  // ---- history

  async readHistory(instanceId: string, executionId: string): Promise<StoredHistory> {
    const from = `h.${executionId}.`;
    const rows = this.history.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${instanceId} and RowKey ge ${from} and RowKey lt ${`h.${executionId}/`}` },
    });
    const all: { key: string; event: HistoryEvent; messageKeys: string[] }[] = [];
    for await (const row of rows) {
      const messageKeys = [...(typeof row.MessageKey === 'string' ? [row.MessageKey] : []), ...(typeof row.MessageKeys === 'string' ? (JSON.parse(row.MessageKeys) as string[]) : [])];
      all.push({ key: row.rowKey as string, event: JSON.parse(getText(row, 'Data') ?? 'null') as HistoryEvent, messageKeys });
    }
    let end = all.length;
    while (end > 0 && all[end - 1].event.EventType !== 13 /* OrchestratorCompleted */) end--;
    const kept = all.slice(0, end);
    return {
      events: kept.map((r) => r.event),
      consumed: new Set(kept.flatMap((r) => r.messageKeys)),
      torn: all.slice(end).map((r) => r.key),
    };
  }

  /** Execution ids that have history rows in the instance's partition. */
  async historyExecutions(instanceId: string): Promise<Set<string>> {
    const ids = new Set<string>();
    const rows = this.history.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${instanceId} and RowKey ge ${'h.'} and RowKey lt ${'h/'}`, select: ['RowKey'] } });
    for await (const row of rows) ids.add((row.rowKey as string).split('.')[1]);
    return ids;
  }

  /**
   * Appends events (numbered from `firstSeq`); `messageKey` marks the message an event came from,
   * `messageKeys` messages consumed by it without an event of their own (by an execution that
   * continued as new in the same episode).
   */
  async appendHistory(instanceId: string, executionId: string, firstSeq: number, items: { event: HistoryEvent; messageKey?: string; messageKeys?: string[] }[]): Promise<void> {
    const actions: TransactionAction[] = items.map(({ event, messageKey, messageKeys }, i) => {
      const entity: Record<string, unknown> = { partitionKey: instanceId, rowKey: `h.${executionId}.${pad(firstSeq + i, 8)}`, EventType: event.EventType };
      putText(entity, 'Data', JSON.stringify(event));
      if (messageKey) entity.MessageKey = messageKey;
      if (messageKeys?.length) entity.MessageKeys = JSON.stringify(messageKeys);
      checkSize(entity, `A history event of instance '${instanceId}'`);
      return ['upsert', entity as TableEntity, 'Replace'];
    });
    await this.submit(instanceId, actions);
  }

  async deleteExecution(instanceId: string, executionId: string): Promise<void> {
    const keys: string[] = [];
    const rows = this.history.listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${instanceId} and RowKey ge ${`h.${executionId}.`} and RowKey lt ${`h.${executionId}/`}`, select: ['RowKey'] },
    });
    for await (const row of rows) keys.push(row.rowKey as string);
    await this.deleteRows(instanceId, keys);
  }

  // ---- messages

  newMessageKey(): string {
    return `m.${pad(Date.now(), 13)}.${pad(this.messageCounter++ % 1e6, 6)}.${randomBytes(3).toString('hex')}`;
  }

  async addMessage(instanceId: string, message: Message): Promise<void> {
    const entity: Record<string, unknown> = { partitionKey: instanceId, rowKey: message.key, Kind: message.kind };
    if (message.executionId) entity.ExecutionId = message.executionId;
    putText(entity, 'Data', JSON.stringify(message.kind === 'start' ? { name: message.name, input: message.input } : message.event));
    checkSize(entity, `A message to instance '${instanceId}'`);
    await this.history.upsertEntity(entity as TableEntity, 'Replace');
  }

  async readMessages(instanceId: string): Promise<Message[]> {
    const out: Message[] = [];
    const rows = this.history.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${instanceId} and RowKey ge ${'m.'} and RowKey lt ${'m/'}` } });
    for await (const row of rows) {
      const data = JSON.parse(getText(row, 'Data') ?? 'null') as Record<string, unknown>;
      const key = row.rowKey as string;
      const executionId = typeof row.ExecutionId === 'string' ? row.ExecutionId : null;
      if (row.Kind === 'start') out.push({ key, kind: 'start', executionId: executionId ?? '', name: String(data.name), input: (data.input as string | null) ?? null });
      else out.push({ key, kind: 'event', executionId, event: data as unknown as HistoryEvent });
    }
    return out;
  }

  async deleteRows(instanceId: string, rowKeys: string[]): Promise<void> {
    await this.submit(
      instanceId,
      rowKeys.map((rowKey): TransactionAction => ['delete', { partitionKey: instanceId, rowKey }]),
    );
  }

  /**
   * Deletes the instance row and its history, as the Azure Storage provider's purge does; queued
   * messages (its queues) stay. False when there was no instance.
   */
  async purge(instanceId: string): Promise<boolean> {
    const keys: string[] = [];
    const rows = this.history.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${instanceId} and RowKey ge ${'h.'} and RowKey lt ${'h/'}`, select: ['RowKey'] } });
    for await (const row of rows) keys.push(row.rowKey as string);
    await this.deleteRows(instanceId, keys);
    try {
      await this.instances.deleteEntity(instanceId, '');
      return true;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }
  }

  /** Entity group transactions of at most 100 rows (and a few MB) each, all in one partition. */
  private async submit(partitionKey: string, actions: TransactionAction[]): Promise<void> {
    let batch: TransactionAction[] = [];
    let chars = 0;
    const flush = async () => {
      if (!batch.length) return;
      if (batch.length === 1) {
        const [kind, entity] = batch[0];
        if (kind === 'delete') {
          await this.history.deleteEntity(partitionKey, entity.rowKey).catch((err: { statusCode?: number }) => {
            if (err.statusCode !== 404) throw err;
          });
        } else await this.history.upsertEntity(entity, 'Replace');
      } else {
        try {
          await this.history.submitTransaction(batch);
        } catch (err) {
          // A delete of a row already gone fails the whole group: do that group row by row.
          if ((err as { statusCode?: number }).statusCode !== 404) throw err;
          for (const a of batch) {
            if (a[0] === 'delete') {
              await this.history.deleteEntity(partitionKey, a[1].rowKey).catch((e: { statusCode?: number }) => {
                if (e.statusCode !== 404) throw e;
              });
            } else await this.history.upsertEntity(a[1], 'Replace');
          }
        }
      }
      batch = [];
      chars = 0;
    };
    for (const action of actions) {
      const size = action[0] === 'delete' ? 100 : textSize(action[1]);
      if (batch.length === BATCH_ROWS || (batch.length && chars + size > BATCH_CHARS)) await flush();
      batch.push(action);
      chars += size;
    }
    await flush();
  }
}

function toInstance(e: Record<string, unknown>): InstanceRow {
  const time = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : 0);
  return {
    instanceId: e.partitionKey as string,
    name: (e.Name as string | undefined) ?? '',
    runtimeStatus: String(e.RuntimeStatus) as RuntimeStatus,
    executionId: (e.ExecutionId as string | undefined) ?? '',
    createdTime: time(e.CreatedTime),
    lastUpdatedTime: time(e.LastUpdatedTime),
    input: getText(e, 'Input'),
    output: getText(e, 'Output'),
    customStatus: getText(e, 'CustomStatus'),
  };
}
