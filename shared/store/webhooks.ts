import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { EnvelopeCipher } from '../crypto';
import { TamperedRecordError } from '../errors';
import type { RecordIntegrity } from '../crypto/integrity';
import type { WebhookEventType } from '../model/webhookSchemas';
import { deleteCounted, readEntity, upsertCounted } from './countedPartition';
import { listPartition, type Page } from './paging';

// All subscriptions share one partition: the list, and finding who listens to an event, is one
// partition query of at most 100 rows, and the limit is one counter row in it. The secret is
// sealed in an envelope bound to this table, partition and row.
const PARTITION = 'webhooks';
export const MAX_WEBHOOKS = 100;
const SECRET_FIELD = 'secret';

export interface WebhookRecord {
  id: string;
  url: string;
  events: WebhookEventType[];
  /** Whether a secret is stored; the record never holds the secret itself. */
  signed: boolean;
  createdOn: string;
  changedOn: string;
  etag: string;
}

interface WebhookEntity {
  url: string;
  /** JSON array of event types. */
  events: string;
  /** The envelope (one `secrets` property per row, as every table has: key rotation finds it). */
  secrets?: string;
  createdOn: string;
  changedOn: string;
  /** Version and MAC over every other column (shared/crypto/integrity.ts): a row written outside credman is not delivered to. */
  sealVersion?: number;
  mac?: string;
}

export class WebhookStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: EnvelopeCipher,
    private readonly integrity: RecordIntegrity,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The subscription; a row that fails its integrity check is a TamperedRecordError. */
  async get(id: string): Promise<WebhookRecord | undefined> {
    const e = await this.read(id);
    return e && toRecord(id, e, e.etag);
  }

  /** The subscription with its decrypted secret: for delivery only. */
  async getWithSecret(id: string): Promise<{ record: WebhookRecord; secret?: string } | undefined> {
    const e = await this.read(id);
    return e && { record: toRecord(id, e, e.etag), ...(await this.open(id, e)) };
  }

  /** A page of the subscriptions that pass their integrity check; the others are reported and left out. */
  async list(top: number, skipToken?: string): Promise<Page<WebhookRecord>> {
    const page = await listPartition<WebhookEntity>(this.table, PARTITION, top, skipToken);
    const good = await this.integrity.verified('webhook subscription', (e) => this.location(e.rowKey as string), page.items);
    return { items: good.map((e) => toRecord(e.rowKey as string, e, e.etag)), skipToken: page.skipToken };
  }

  /** Every subscription that lists `event` (without secrets). */
  async subscribedTo(event: WebhookEventType): Promise<WebhookRecord[]> {
    return (await this.listening(event)).map((e) => toRecord(e.rowKey as string, e, e.etag));
  }

  /** Every subscription that lists `event`, with its secret. */
  async subscribersOf(event: WebhookEventType): Promise<{ record: WebhookRecord; secret?: string }[]> {
    const entities = await this.listening(event);
    const opened = await Promise.all(
      entities.map(async (e) => {
        try {
          return { record: toRecord(e.rowKey as string, e, e.etag), ...(await this.open(e.rowKey as string, e)) };
        } catch (err) {
          // Reported as tampering; the other subscribers still get the event.
          if (err instanceof TamperedRecordError) return undefined;
          throw err;
        }
      }),
    );
    return opened.filter((s) => s !== undefined);
  }

  /** Creates or replaces; `secret` undefined stores none (a replace drops the old one). */
  async put(id: string, value: { url: string; events: WebhookEventType[] }, secret: string | undefined, ifMatch?: string): Promise<{ created: boolean; record: WebhookRecord }> {
    const now = this.now().toISOString();
    const r = await upsertCounted<WebhookEntity>(
      this.table,
      PARTITION,
      id,
      async (existing) =>
        this.integrity.protect(
          this.location(id),
          {
            partitionKey: PARTITION,
            rowKey: id,
            url: value.url,
            events: JSON.stringify(value.events),
            ...(secret === undefined ? {} : { secrets: await this.sealer.seal(this.location(id), { [SECRET_FIELD]: secret }) }),
            createdOn: existing?.createdOn ?? now,
            changedOn: now,
          },
          existing?.sealVersion,
        ),
      { limit: MAX_WEBHOOKS, limitMessage: `An instance holds at most ${MAX_WEBHOOKS} webhook subscriptions.`, ifMatch },
    );
    return { created: r.created, record: toRecord(id, r.entity, r.etag) };
  }

  async delete(id: string, ifMatch?: string): Promise<boolean> {
    const deleted = await deleteCounted(this.table, PARTITION, id, ifMatch);
    if (deleted) this.integrity.deleted(this.location(id));
    return deleted;
  }

  private async listening(event: WebhookEventType): Promise<TableEntityResult<WebhookEntity>[]> {
    const out: TableEntityResult<WebhookEntity>[] = [];
    let skipToken: string | undefined;
    do {
      const page = await listPartition<WebhookEntity>(this.table, PARTITION, MAX_WEBHOOKS, skipToken);
      const good = await this.integrity.verified('webhook subscription', (e) => this.location(e.rowKey as string), page.items);
      out.push(...good.filter((e) => (JSON.parse(e.events) as string[]).includes(event)));
      skipToken = page.skipToken;
    } while (skipToken);
    return out;
  }

  private location(id: string) {
    return { table: this.table.tableName, partitionKey: PARTITION, rowKey: id };
  }

  private async read(id: string): Promise<TableEntityResult<WebhookEntity> | undefined> {
    const e = await readEntity<WebhookEntity>(this.table, PARTITION, id);
    if (e) await this.integrity.verify('webhook subscription', this.location(id), e);
    return e;
  }

  private async open(id: string, e: WebhookEntity): Promise<{ secret?: string }> {
    if (!e.secrets) return {};
    return { secret: (await this.integrity.open('webhook subscription', this.location(id), e.secrets))[SECRET_FIELD] };
  }
}

function toRecord(id: string, e: WebhookEntity, etag: string): WebhookRecord {
  return {
    id,
    url: e.url,
    events: JSON.parse(e.events) as WebhookEventType[],
    signed: Boolean(e.secrets),
    createdOn: e.createdOn,
    changedOn: e.changedOn,
    etag,
  };
}
