import { randomBytes } from 'node:crypto';
import { CredmanError, ValidationError } from '../errors';
import type { WebhookPut, WebhookResource } from '../model/webhookSchemas';
import type { Page } from '../store/paging';
import type { WebhookRecord, WebhookStore } from '../store/webhooks';
import { checkDestination, DestinationError } from './destination';
import type { WebhookPublisher } from './publisher';

// The management of webhook subscriptions (GET/PUT/POST/DELETE /webhooks), and the publisher that
// sends events to them. The secret goes in on PUT or POST and never comes out: records do not hold it.

export class WebhookNotFoundError extends CredmanError {
  constructor(id: string) {
    super('WebhookNotFound', 404, `Webhook subscription '${id}' does not exist.`);
  }
}

export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    readonly publisher: WebhookPublisher,
    private readonly options: { allowPrivateNetworks: boolean },
  ) {}

  async list(top: number, skipToken?: string): Promise<Page<WebhookResource>> {
    const page = await this.store.list(top, skipToken);
    return { items: page.items.map(webhookResource), skipToken: page.skipToken };
  }

  async get(id: string): Promise<{ resource: WebhookResource; etag: string }> {
    const r = await this.store.get(id);
    if (!r) throw new WebhookNotFoundError(id);
    return { resource: webhookResource(r), etag: r.etag };
  }

  async put(id: string, body: WebhookPut, ifMatch?: string): Promise<{ created: boolean; resource: WebhookResource; etag: string }> {
    const { url, events, secret } = body.properties;
    try {
      checkDestination(url, this.options);
    } catch (err) {
      if (!(err instanceof DestinationError)) throw err;
      throw new ValidationError('The webhook URL is not allowed.', [{ code: err.code, target: 'properties.url', message: err.message }]);
    }
    const r = await this.store.put(id, { url, events }, secret, ifMatch);
    return { created: r.created, resource: webhookResource(r.record), etag: r.record.etag };
  }

  /**
   * Creates a subscription under an id of the server's choosing (POST /webhooks), for callers
   * that cannot pick one, such as a Logic Apps webhook trigger: it learns the id from Location.
   */
  async create(body: WebhookPut): Promise<{ id: string; resource: WebhookResource; etag: string }> {
    const id = newSubscriptionId();
    const r = await this.put(id, body);
    return { id, resource: r.resource, etag: r.etag };
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

export function webhookResource(r: WebhookRecord): WebhookResource {
  return {
    id: `/webhooks/${r.id}`,
    name: r.id,
    type: 'webhooks',
    properties: { url: r.url, events: r.events, signed: r.signed, createdOn: r.createdOn, changedOn: r.changedOn },
  };
}
