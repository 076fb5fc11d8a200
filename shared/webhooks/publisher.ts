import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { lazyAxios } from '../lazyAxios';
import type { WebhookDelivery, WebhookEventData, WebhookEventType } from '../model/webhookSchemas';
import { parseRetryAfter } from '../oauth/idpClient';
import type { WebhookStore } from '../store/webhooks';
import { checkDestination, DestinationError, guardedLookup, type Resolver } from '../net/destination';
import { signatureHeaders } from './signing';

// Sends events to the subscriptions that list them. One attempt (`deliverOnce`) is a POST of the
// JSON body with the Standard Webhooks headers (signing.ts), signed at the attempt's time, through an agent whose lookup refuses non-public addresses, with
// a deadline, no redirects and no proxy; it reports whether a retry may help. `deliver` retries
// in-process with jittered exponential backoff; a durable activity calls `deliverOnce` and lets
// the orchestration retry. Neither logs nor returns the secret, the URL or the receiver's body.

export interface WebhookEvent {
  type: WebhookEventType;
  data: WebhookEventData;
}

/** Where to deliver: a subscription with its full URL and the secrets that sign now (held in memory only). */
export interface WebhookTarget {
  id: string;
  url: string;
  secrets?: readonly string[];
}

export type DeliveryFailure =
  | 'HttpStatus' // the receiver answered a non-2xx status (see `status`)
  | 'Redirect' // 3xx: redirects are not followed
  | 'Timeout'
  | 'ConnectionFailed' // refused, reset, DNS or TLS failure
  | 'DestinationNotAllowed' // the URL or an address it resolves to is not allowed
  | 'SubscriptionDeleted' // deliverOnce by id: the subscription is gone
  | 'Unsubscribed'; // deliverOnce by id: it no longer lists the event

/** One attempt's outcome; plain JSON, so it can be an activity's result. */
export interface DeliveryResult {
  ok: boolean;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Whether trying again later may succeed (5xx, 408, 429, timeouts, connection failures). */
  retryable: boolean;
  /** The receiver's Retry-After, in milliseconds. */
  retryAfterMs?: number;
  reason?: DeliveryFailure;
}

export interface PublisherOptions {
  /** As CREDMAN_ALLOW_PRIVATE_NETWORKS: http and non-public addresses allowed. */
  allowPrivateNetworks: boolean;
  /** Deadline of one attempt, connection to response headers (default 10 s). */
  timeoutMs?: number;
  /** Attempts of `deliver`, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff of `deliver`, doubled each retry, jittered to 50–100 % (default 1 s). */
  baseDelayMs?: number;
  /** Longest wait between attempts of `deliver`; a longer Retry-After ends the retries (default 30 s). */
  maxDelayMs?: number;
  /** Subscriptions delivered to at once by `publish` (default 10). */
  concurrency?: number;
  /** Name resolution (dns.lookup by default). */
  resolve?: Resolver;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface PublishReport {
  type: WebhookEventType;
  deliveries: Array<DeliveryResult & { subscriptionId: string; deliveryId: string; attempts: number }>;
  /** Set when the subscriptions could not be read (storage down): nothing was sent. `cause` is what was thrown. */
  error?: { code: string; cause: unknown };
}

const RETRYABLE_STATUS = (status: number) => status >= 500 || status === 408 || status === 429;
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ERR_CANCELED']);

/** A delivery body; `id` and `time` may be given (an orchestrator must not draw them itself). */
export function createDelivery(event: WebhookEvent, at: { id?: string; time?: string } = {}): WebhookDelivery {
  return { id: at.id ?? randomUUID(), type: event.type, time: at.time ?? new Date().toISOString(), data: event.data };
}

export class WebhookPublisher {
  private readonly lookup: LookupFunction;
  private readonly opts: Required<Omit<PublisherOptions, 'resolve'>>;

  constructor(
    private readonly store: Pick<WebhookStore, 'getForDelivery' | 'subscribersOf' | 'subscribedTo'>,
    options: PublisherOptions,
  ) {
    this.opts = {
      timeoutMs: 10_000,
      maxAttempts: 5,
      baseDelayMs: 1_000,
      maxDelayMs: 30_000,
      concurrency: 10,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      now: () => new Date(),
      log: () => undefined,
      ...options,
    };
    if (!(this.opts.maxAttempts >= 1) || !(this.opts.timeoutMs > 0)) throw new RangeError('maxAttempts must be at least 1 and timeoutMs positive.');
    this.lookup = guardedLookup({ allowPrivateNetworks: options.allowPrivateNetworks, resolve: options.resolve });
  }

  private readonly http = lazyAxios(() => ({
    timeout: this.opts.timeoutMs,
    maxRedirects: 0,
    // A proxy would resolve the name itself, past the guard.
    proxy: false,
    responseType: 'stream',
    decompress: false,
    validateStatus: () => true,
    transitional: { clarifyTimeoutError: true },
    httpAgent: new http.Agent({ lookup: this.lookup }),
    httpsAgent: new https.Agent({ lookup: this.lookup }),
  }));

  /** Ids of the subscriptions that list the event: what an orchestration fans out over (no secrets). */
  async subscriptionIds(type: WebhookEventType): Promise<string[]> {
    return (await this.store.subscribedTo(type)).map((r) => r.id);
  }

  /** Sends the event to every subscription that lists it, each with its own delivery id; never rejects. */
  async publish(event: WebhookEvent): Promise<PublishReport> {
    let targets;
    try {
      targets = await this.store.subscribersOf(event.type);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.opts.log('error', `webhook publish of ${event.type} failed: subscriptions unreadable (${typeof code === 'string' ? code : 'Error'})`);
      return { type: event.type, deliveries: [], error: { code: typeof code === 'string' ? code : 'Error', cause: err } };
    }
    const deliveries: PublishReport['deliveries'] = [];
    const queue: WebhookTarget[] = targets.map((t) => ({ id: t.record.id, url: t.url, secrets: t.secrets }));
    const worker = async () => {
      for (let target = queue.shift(); target; target = queue.shift()) {
        const body = createDelivery(event, { time: this.opts.now().toISOString() });
        const r = await this.deliver(target, body);
        deliveries.push({ subscriptionId: target.id, deliveryId: body.id, ...r });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, queue.length) }, worker));
    return { type: event.type, deliveries };
  }

  /** Attempts until success, a failure that retrying cannot fix, or `maxAttempts`; same body (and id) each time. */
  async deliver(subscription: WebhookTarget | string, body: WebhookDelivery): Promise<DeliveryResult & { attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.deliverOnce(subscription, body);
      if (r.ok || !r.retryable || attempt >= this.opts.maxAttempts) return { ...r, attempts: attempt };
      const backoff = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + this.opts.random() / 2);
      if ((r.retryAfterMs ?? 0) > this.opts.maxDelayMs) return { ...r, attempts: attempt };
      await this.opts.sleep(Math.max(backoff, r.retryAfterMs ?? 0));
    }
  }

  /**
   * One attempt. Given an id, loads the subscription (its URL and secrets) now: what a durable
   * activity should pass, so that no secret enters orchestration history. Throws only when the
   * subscription cannot be read (storage unavailable); every delivery failure is a result.
   */
  async deliverOnce(subscription: WebhookTarget | string, body: WebhookDelivery): Promise<DeliveryResult> {
    let target: WebhookTarget;
    if (typeof subscription === 'string') {
      const found = await this.store.getForDelivery(subscription);
      if (!found) return { ok: false, retryable: false, reason: 'SubscriptionDeleted' };
      if (!found.record.events.includes(body.type)) return { ok: false, retryable: false, reason: 'Unsubscribed' };
      target = { id: found.record.id, url: found.url, secrets: found.secrets };
    } else {
      target = subscription;
    }
    const result = await this.attempt(target, body);
    if (!result.ok) {
      this.opts.log('warn', `webhook delivery failed: subscription ${target.id}, event ${body.type}, ${result.status === undefined ? (result.reason ?? 'Error') : `status ${result.status}`}`);
    }
    return result;
  }

  private async attempt(target: WebhookTarget, body: WebhookDelivery): Promise<DeliveryResult> {
    let url: URL;
    try {
      url = checkDestination(target.url, { allowPrivateNetworks: this.opts.allowPrivateNetworks });
    } catch (err) {
      if (err instanceof DestinationError) return { ok: false, retryable: false, reason: 'DestinationNotAllowed' };
      throw err;
    }
    const raw = JSON.stringify(body);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'credman-webhooks/1',
      'X-Credman-Event': body.type,
      // The delivery id on every retry; the timestamp of this attempt, so that a retry after a
      // long backoff still falls within the receiver's tolerance.
      ...signatureHeaders(target.secrets ?? [], body.id, this.opts.now(), raw),
    };
    let res;
    try {
      res = await this.http().post<NodeJS.ReadableStream & { destroy(): void }>(url.href, raw, {
        headers,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        // The body is sent as the exact string that was signed.
        transformRequest: [(d: unknown) => d],
      });
    } catch (err) {
      return failure(err);
    }
    // Only the status matters; the receiver's body is never read.
    res.data.destroy();
    const status = res.status;
    if (status >= 200 && status < 300) return { ok: true, status, retryable: false };
    if (status >= 300 && status < 400) return { ok: false, status, retryable: false, reason: 'Redirect' };
    const retryAfter = header(res.headers['retry-after']);
    const retryAfterMs = RETRYABLE_STATUS(status) ? parseRetryAfter(retryAfter, this.opts.now().getTime()) : undefined;
    return { ok: false, status, retryable: RETRYABLE_STATUS(status), reason: 'HttpStatus', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
}

function failure(err: unknown): DeliveryResult {
  const e = err as { code?: unknown; cause?: unknown };
  if (e.cause instanceof DestinationError || e.code === 'DestinationNotAllowed') return { ok: false, retryable: false, reason: 'DestinationNotAllowed' };
  if (typeof e.code === 'string' && TIMEOUT_CODES.has(e.code)) return { ok: false, retryable: true, reason: 'Timeout' };
  return { ok: false, retryable: true, reason: 'ConnectionFailed' };
}

function header(v: unknown): string | undefined {
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}
