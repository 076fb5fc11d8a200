import type { TableClient, TableEntityResult } from '@azure/data-tables';
import type { EnvelopeCipher } from '../crypto';
import type { RecordIntegrity } from '../crypto/integrity';
import { PreconditionFailedError, TamperedRecordError } from '../errors';
import type { WebhookEventType } from '../model/webhookSchemas';
import { asSigningSecret } from '../webhooks/signing';
import { joinUrl, splitUrl } from '../webhooks/urlQuery';
import { deleteCounted, ifMatchFails, readEntity, upsertCounted, type Precondition } from './countedPartition';
import { listPartition, type Page } from './paging';
import { isNotFound, isPreconditionFailed, unavailable } from './storageErrors';

// All subscriptions share one partition: the list, and finding who listens to an event, is one
// partition query of at most 100 rows, and the limit is one counter row in it. The signing
// secrets and the URL's query (see shared/webhooks/urlQuery.ts) are sealed in one envelope bound to this table,
// partition and row; the `url` column holds the redacted URL. Each row carries a version and a MAC
// over every other column (shared/crypto/integrity.ts): a row written outside credman is neither
// shown nor delivered to.
const PARTITION = 'webhooks';
export const MAX_WEBHOOKS = 100;
const RECORD = 'webhook subscription';

export interface WebhookRecord {
  id: string;
  /** Redacted: every query value replaced. */
  url: string;
  events: WebhookEventType[];
  /** Whether a signing secret is stored; the record never holds a secret. */
  signed: boolean;
  /** While the previous secret still signs too (after a rotation). */
  previousSecretExpiresOn?: string;
  createdOn: string;
  changedOn: string;
  etag: string;
}

/** What a delivery needs: the full URL and the secrets that sign now (the current one first). */
export interface WebhookDeliveryTarget {
  record: WebhookRecord;
  url: string;
  secrets: string[];
}

interface WebhookEntity {
  url: string;
  /** JSON array of event types. */
  events: string;
  /** The envelope of Sealed (one `secrets` property per row, as every table has: key rotation finds it). */
  secrets?: string;
  previousSecretExpiresOn?: string;
  createdOn: string;
  changedOn: string;
  sealVersion?: number;
  mac?: string;
}

/** The envelope's fields. `secret` is a row written before the Standard Webhooks scheme. */
interface Sealed {
  current?: string;
  previous?: string;
  /** The URL after its path (query and fragment); absent when it had none. */
  query?: string;
  secret?: string;
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
    return e && this.toRecord(id, e, e.etag);
  }

  /** The subscription with its full URL and secrets: for delivery only. */
  async getForDelivery(id: string): Promise<WebhookDeliveryTarget | undefined> {
    const e = await this.read(id);
    return e && this.target(id, e);
  }

  /** A page of the subscriptions that pass their integrity check; the others are reported and left out. */
  async list(top: number, skipToken?: string): Promise<Page<WebhookRecord>> {
    const page = await listPartition<WebhookEntity>(this.table, PARTITION, top, skipToken);
    const good = await this.integrity.verified(RECORD, (e) => this.location(e.rowKey as string), page.items);
    return { items: good.map((e) => this.toRecord(e.rowKey as string, e, e.etag)), skipToken: page.skipToken };
  }

  /** Every subscription that lists `event` (without secrets). */
  async subscribedTo(event: WebhookEventType): Promise<WebhookRecord[]> {
    return (await this.listening(event)).map((e) => this.toRecord(e.rowKey as string, e, e.etag));
  }

  /** Every subscription that lists `event`, with its full URL and secrets. */
  async subscribersOf(event: WebhookEventType): Promise<WebhookDeliveryTarget[]> {
    const targets = await Promise.all(
      (await this.listening(event)).map((e) =>
        this.target(e.rowKey as string, e).catch((err: unknown) => {
          // Reported as tampering; the other subscribers still get the event.
          if (err instanceof TamperedRecordError) return undefined;
          throw err;
        }),
      ),
    );
    return targets.filter((t) => t !== undefined);
  }

  /**
   * Creates or replaces URL and events. A replace keeps the secrets; `secret` is stored only where
   * there is none yet (`secretIssued` says so). A replace whose URL is the stored redacted one
   * keeps the sealed query, so that what GET showed can be sent back.
   */
  async put(id: string, value: { url: string; events: WebhookEventType[] }, secret: string, pre: Precondition = {}): Promise<{ created: boolean; record: WebhookRecord; secretIssued: boolean }> {
    const now = this.now();
    let secretIssued = false;
    const r = await upsertCounted<WebhookEntity>(
      this.table,
      PARTITION,
      id,
      async (existing) => {
        if (existing) await this.integrity.verify(RECORD, this.location(id), existing);
        const old = existing ? await this.open(id, existing) : {};
        const shown = existing && value.url === splitUrl(existing.url).redacted;
        const { redacted, tail } = splitUrl(shown ? fullUrl(existing.url, old) : value.url);
        const current = currentOf(old);
        secretIssued = current === undefined;
        const previous = existing && stillValid(existing.previousSecretExpiresOn, now) ? old.previous : undefined;
        return this.entity(
          id,
          { url: redacted, events: value.events, createdOn: existing?.createdOn ?? now.toISOString(), changedOn: now.toISOString() },
          {
            current: current ?? secret,
            ...(previous ? { previous, previousSecretExpiresOn: existing?.previousSecretExpiresOn } : {}),
            query: tail,
          },
          existing?.sealVersion,
        );
      },
      { limit: MAX_WEBHOOKS, limitMessage: `An instance holds at most ${MAX_WEBHOOKS} webhook subscriptions.`, ...pre },
    );
    this.integrity.written(this.location(id), r.entity.sealVersion);
    return { created: r.created, record: this.toRecord(id, r.entity, r.etag), secretIssued };
  }

  /**
   * Makes `secret` the current secret; the current one becomes the previous and keeps signing
   * for `keepPreviousMs` (0: it stops at once). A secret that was previous already is dropped.
   * Undefined when the subscription does not exist.
   */
  async rotateSecret(id: string, secret: string, keepPreviousMs: number, ifMatch?: string): Promise<WebhookRecord | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const existing = await this.read(id);
      if (!existing) return undefined;
      if (ifMatchFails(ifMatch, existing.etag)) throw new PreconditionFailedError();
      const now = this.now();
      const old = await this.open(id, existing);
      const previous = keepPreviousMs > 0 ? currentOf(old) : undefined;
      const { redacted, tail } = splitUrl(fullUrl(existing.url, old));
      const entity = await this.entity(
        id,
        { url: redacted, events: JSON.parse(existing.events) as WebhookEventType[], createdOn: existing.createdOn, changedOn: now.toISOString() },
        {
          current: secret,
          ...(previous ? { previous, previousSecretExpiresOn: new Date(now.getTime() + keepPreviousMs).toISOString() } : {}),
          query: tail,
        },
        existing.sealVersion,
      );
      try {
        const r = await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
        this.integrity.written(this.location(id), entity.sealVersion);
        return this.toRecord(id, entity, r.etag ?? '');
      } catch (err) {
        if (!(isPreconditionFailed(err) || isNotFound(err))) return unavailable(err);
        if (ifMatch !== undefined && ifMatch !== '*') throw new PreconditionFailedError();
      }
    }
    throw new PreconditionFailedError('The resource is being changed concurrently; try again.');
  }

  async delete(id: string, ifMatch?: string): Promise<boolean> {
    const deleted = await deleteCounted(this.table, PARTITION, id, ifMatch);
    if (deleted) this.integrity.deleted(this.location(id));
    return deleted;
  }

  private async entity(
    id: string,
    plain: { url: string; events: WebhookEventType[]; createdOn: string; changedOn: string },
    sealed: { current: string; previous?: string; previousSecretExpiresOn?: string; query: string },
    previousVersion: number | undefined,
  ) {
    const fields: Record<string, string> = { current: sealed.current };
    if (sealed.previous) fields.previous = sealed.previous;
    if (sealed.query) fields.query = sealed.query;
    return this.integrity.protect(
      this.location(id),
      {
        partitionKey: PARTITION,
        rowKey: id,
        url: plain.url,
        events: JSON.stringify(plain.events),
        secrets: await this.sealer.seal(this.location(id), fields),
        ...(sealed.previousSecretExpiresOn ? { previousSecretExpiresOn: sealed.previousSecretExpiresOn } : {}),
        createdOn: plain.createdOn,
        changedOn: plain.changedOn,
      },
      previousVersion,
    );
  }

  private async listening(event: WebhookEventType): Promise<TableEntityResult<WebhookEntity>[]> {
    const out: TableEntityResult<WebhookEntity>[] = [];
    let skipToken: string | undefined;
    do {
      const page = await listPartition<WebhookEntity>(this.table, PARTITION, MAX_WEBHOOKS, skipToken);
      const good = await this.integrity.verified(RECORD, (e) => this.location(e.rowKey as string), page.items);
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
    if (e) await this.integrity.verify(RECORD, this.location(id), e);
    return e;
  }

  private async open(id: string, e: WebhookEntity): Promise<Sealed> {
    return e.secrets ? await this.integrity.open(RECORD, this.location(id), e.secrets) : {};
  }

  private async target(id: string, e: TableEntityResult<WebhookEntity>): Promise<WebhookDeliveryTarget> {
    const sealed = await this.open(id, e);
    const current = currentOf(sealed);
    const previous = stillValid(e.previousSecretExpiresOn, this.now()) ? sealed.previous : undefined;
    return {
      record: this.toRecord(id, e, e.etag),
      url: fullUrl(e.url, sealed),
      secrets: [current, previous].filter((s): s is string => s !== undefined),
    };
  }

  private toRecord(id: string, e: WebhookEntity, etag: string): WebhookRecord {
    return {
      id,
      // Redacting is idempotent; a row from before sealing holds its query in plain until replaced.
      url: splitUrl(e.url).redacted,
      events: JSON.parse(e.events) as WebhookEventType[],
      signed: Boolean(e.secrets),
      ...(stillValid(e.previousSecretExpiresOn, this.now()) ? { previousSecretExpiresOn: e.previousSecretExpiresOn } : {}),
      createdOn: e.createdOn,
      changedOn: e.changedOn,
      etag,
    };
  }
}

/** A row without a sealed query holds its whole URL (rows from before sealing held it in plain). */
const fullUrl = (url: string, s: Sealed): string => (s.query === undefined ? url : joinUrl(url, s.query));
const currentOf = (s: Sealed): string | undefined => s.current ?? (s.secret === undefined ? undefined : asSigningSecret(s.secret));
const stillValid = (expiresOn: string | undefined, now: Date): expiresOn is string => expiresOn !== undefined && Date.parse(expiresOn) > now.getTime();
