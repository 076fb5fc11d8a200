import { randomBytes } from 'node:crypto';
import { ValidationError, WebhookNotFoundError } from '../errors';
import type { WebhookPut, WebhookResource, WebhookRotateSecret } from '../model/webhookSchemas';
import type { Page } from '../store/paging';
import type { Precondition } from '../store/countedPartition';
import type { WebhookRecord, WebhookStore } from '../store/webhooks';
import { checkDestination, DestinationError } from '../net/destination';
import type { WebhookPublisher } from './publisher';
import { newSigningSecret } from './signing';

// The management of webhook subscriptions (GET/PUT/POST/DELETE /webhooks, POST …/rotateSecret),
// and the publisher that sends events to them. credman issues each signing secret and shows it
// once, in the answer that issues it; records hold no secret and only the redacted URL.

const HOUR_MS = 3_600_000;

export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    readonly publisher: WebhookPublisher,
    private readonly options: { allowPrivateNetworks: boolean },
  ) {}

  async list(top: number, skipToken?: string): Promise<Page<WebhookResource>> {
    const page = await this.store.list(top, skipToken);
    return { items: page.items.map((r) => webhookResource(r)), skipToken: page.skipToken };
  }

  async get(id: string): Promise<{ resource: WebhookResource; etag: string }> {
    const r = await this.store.get(id);
    if (!r) throw new WebhookNotFoundError(id);
    return { resource: webhookResource(r), etag: r.etag };
  }

  /** Creates (with a new secret, returned in `resource`) or replaces URL and events (the secrets stay). */
  async put(id: string, body: WebhookPut, pre: Precondition = {}): Promise<{ created: boolean; resource: WebhookResource; etag: string }> {
    const { url, events } = body.properties;
    try {
      checkDestination(url, this.options);
    } catch (err) {
      if (!(err instanceof DestinationError)) throw err;
      throw new ValidationError('The webhook URL is not allowed.', [{ code: err.code, target: 'properties.url', message: err.message }]);
    }
    const secret = newSigningSecret();
    const r = await this.store.put(id, { url, events }, secret, pre);
    return { created: r.created, resource: webhookResource(r.record, r.secretIssued ? secret : undefined), etag: r.record.etag };
  }

  /**
   * Creates a subscription under an id of the server's choosing (POST /webhooks), for callers
   * that cannot pick one, such as a Logic Apps webhook trigger: it learns the id from Location.
   */
  async create(body: WebhookPut): Promise<{ id: string; resource: WebhookResource; etag: string }> {
    const id = newSubscriptionId();
    const r = await this.put(id, body, { createOnly: true });
    return { id, resource: r.resource, etag: r.etag };
  }

  /** Issues a new current secret (returned once); the old one keeps signing for the hours asked. */
  async rotateSecret(id: string, body: WebhookRotateSecret, ifMatch?: string): Promise<{ resource: WebhookResource; etag: string }> {
    const secret = newSigningSecret();
    const r = await this.store.rotateSecret(id, secret, body.keepPreviousSecretForHours * HOUR_MS, ifMatch);
    if (!r) throw new WebhookNotFoundError(id);
    return { resource: webhookResource(r, secret), etag: r.etag };
  }

  /** False when it did not exist; If-Match is checked against the stored ETag. */
  delete(id: string, ifMatch?: string): Promise<boolean> {
    return this.store.delete(id, ifMatch);
  }
}

/**
 * `wh-` and 128 random bits in hex (35 characters, within the identifier pattern): two creations
 * never meet, so a create is never a replace in disguise.
 */
export function newSubscriptionId(): string {
  return `wh-${randomBytes(16).toString('hex')}`;
}

/** The resource; `secret` only in the answer that issued it. */
export function webhookResource(r: WebhookRecord, secret?: string): WebhookResource {
  return {
    id: `/webhooks/${r.id}`,
    name: r.id,
    type: 'webhooks',
    properties: {
      url: r.url,
      events: r.events,
      signed: r.signed,
      ...(r.previousSecretExpiresOn ? { previousSecretExpiresOn: r.previousSecretExpiresOn } : {}),
      createdOn: r.createdOn,
      changedOn: r.changedOn,
      ...(secret ? { secret } : {}),
    },
  };
}
