import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { RecordIntegrity } from '../../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import type { WebhookDelivery } from '../../../shared/model/webhookSchemas';
import { WebhookStore } from '../../../shared/store/webhooks';
import type { Resolver } from '../../../shared/webhooks/destination';
import { createDelivery, WebhookPublisher, type PublisherOptions } from '../../../shared/webhooks/publisher';

// Deliveries to receivers on loopback: retries, signatures, what is not retried, the SSRF guard
// at connect time, and publish/deliverOnce over the real store on Azurite.

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
}

/** A receiver answering each request with the next scripted [status, headers]; the last one repeats. */
class Receiver {
  readonly requests: Received[] = [];
  connections = 0;
  private server!: http.Server;
  constructor(private readonly script: Array<[number, Record<string, string>?] | 'hang'>) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ headers: req.headers, raw: Buffer.concat(chunks) });
        const step = this.script[Math.min(this.requests.length - 1, this.script.length - 1)];
        if (step === 'hang') return;
        res.writeHead(step[0], step[1] ?? {}).end('{"receiver":"body is never read"}');
      });
    });
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

/** Verifies as a receiver would: HMAC over the raw bytes, constant-time comparison. */
function validSignature(secret: string, r: Received): boolean {
  const header = r.headers['x-credman-signature'];
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(r.raw).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const SECRET = 'whsec-0123456789abcdef';
const event = { type: 'connection.reauthorizationRequired' as const, data: { providerId: 'gh', connectionId: 'alice', status: 'Error' as const, error: { code: 'ReauthorizationRequired', message: 'Consent again.' } } };

let azurite: EmbeddedAzurite;
let dir: string;
let store: WebhookStore;
let table: TableClient;
const receivers: Receiver[] = [];
const receiver = async (...script: ConstructorParameters<typeof Receiver>[0]) => {
  const r = await new Receiver(script).start();
  receivers.push(r);
  return r;
};

beforeAll(async () => {
  [azurite, dir] = await Promise.all([startAzurite(), mkdtemp(join(tmpdir(), 'credman-webhooks-'))]);
  const cipher = new EnvelopeCipher(await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined), new DekCache({ ttlMs: 60_000, maxEntries: 100 }));
  table = TableClient.fromConnectionString(azurite.connectionString, 'testWebhooks', { allowInsecureConnection: true });
  await table.createTable();
  store = new WebhookStore(table, cipher, new RecordIntegrity(cipher, table));
}, 30000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

function publisher(overrides: Partial<PublisherOptions> = {}) {
  const waits: number[] = [];
  const logs: string[] = [];
  const p = new WebhookPublisher(store, {
    allowPrivateNetworks: true,
    baseDelayMs: 100,
    random: () => 0,
    sleep: async (ms) => {
      waits.push(ms);
    },
    log: (level, message) => logs.push(`${level} ${message}`),
    ...overrides,
  });
  return { p, waits, logs };
}

describe('deliver', () => {
  it('retries 503 twice, then succeeds: 3 attempts, one delivery id, a valid signature each time', async () => {
    const r = await receiver([503], [503], [204]);
    const { p, waits, logs } = publisher();
    const body = createDelivery(event);
    const result = await p.deliver({ id: 'sub1', url: r.url, secret: SECRET }, body);
    expect(result).toEqual({ ok: true, status: 204, retryable: false, attempts: 3 });
    expect(r.requests).toHaveLength(3);
    for (const req of r.requests) {
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['x-credman-event']).toBe('connection.reauthorizationRequired');
      expect(req.headers['x-credman-delivery']).toBe(body.id);
      expect(validSignature(SECRET, req)).toBe(true);
      expect(validSignature('not-the-secret-0123', req)).toBe(false);
      const parsed = JSON.parse(req.raw.toString('utf8')) as WebhookDelivery;
      expect(parsed).toEqual(body);
    }
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(body.time).toISOString()).toBe(body.time);
    // Exponential backoff, jittered to 50–100 % (random() = 0 gives the low end).
    expect(waits).toEqual([50, 100]);
    expect(logs).toEqual([
      'warn webhook delivery failed: subscription sub1, event connection.reauthorizationRequired, status 503',
      'warn webhook delivery failed: subscription sub1, event connection.reauthorizationRequired, status 503',
    ]);
  });

  it('does not retry a 4xx, and stops after maxAttempts of 5xx', async () => {
    const bad = await receiver([400]);
    const { p, waits } = publisher();
    expect(await p.deliver({ id: 'sub2', url: bad.url }, createDelivery(event))).toEqual({ ok: false, status: 400, retryable: false, reason: 'HttpStatus', attempts: 1 });
    expect(bad.requests).toHaveLength(1);
    expect(waits).toEqual([]);

    const down = await receiver([500]);
    const capped = publisher({ maxAttempts: 3 });
    expect(await capped.p.deliver({ id: 'sub3', url: down.url }, createDelivery(event))).toMatchObject({ ok: false, status: 500, retryable: true, attempts: 3 });
    expect(down.requests).toHaveLength(3);
  });

  it('sends no signature without a secret', async () => {
    const r = await receiver([200]);
    const { p } = publisher();
    expect((await p.deliverOnce({ id: 'sub4', url: r.url }, createDelivery(event))).ok).toBe(true);
    expect(r.requests[0].headers['x-credman-signature']).toBeUndefined();
  });

  it('honours Retry-After on 429 and 503, and gives up when it is longer than it may wait', async () => {
    const r = await receiver([429, { 'Retry-After': '2' }], [200]);
    const { p, waits } = publisher();
    expect(await p.deliver({ id: 'sub5', url: r.url }, createDelivery(event))).toMatchObject({ ok: true, attempts: 2 });
    expect(waits).toEqual([2000]);

    const later = await receiver([503, { 'Retry-After': '3600' }]);
    const second = publisher();
    expect(await second.p.deliver({ id: 'sub6', url: later.url }, createDelivery(event))).toEqual({
      ok: false, status: 503, retryable: true, retryAfterMs: 3_600_000, reason: 'HttpStatus', attempts: 1,
    });
    expect(second.waits).toEqual([]);
  });

  it('retries 408, and treats a timeout and a refused connection as retryable', async () => {
    const slow = await receiver([408], 'hang');
    const { p } = publisher({ timeoutMs: 300, maxAttempts: 2 });
    const started = Date.now();
    expect(await p.deliver({ id: 'sub7', url: slow.url }, createDelivery(event))).toEqual({ ok: false, retryable: true, reason: 'Timeout', attempts: 2 });
    expect(Date.now() - started).toBeLessThan(5000);

    const closed = await receiver([200]);
    const url = closed.url;
    await closed.stop();
    receivers.splice(receivers.indexOf(closed), 1);
    expect(await p.deliverOnce({ id: 'sub8', url }, createDelivery(event))).toEqual({ ok: false, retryable: true, reason: 'ConnectionFailed' });
  });

  it('does not follow redirects', async () => {
    const target = await receiver([200]);
    const r = await receiver([302, { Location: target.url }]);
    const { p } = publisher();
    expect(await p.deliver({ id: 'sub9', url: r.url }, createDelivery(event))).toEqual({ ok: false, status: 302, retryable: false, reason: 'Redirect', attempts: 1 });
    expect(target.requests).toHaveLength(0);
  });

  it('ignores proxy variables: a proxy would resolve the name past the guard', async () => {
    const proxy = await receiver([200]);
    const r = await receiver([200]);
    const saved = { http_proxy: process.env.http_proxy, HTTP_PROXY: process.env.HTTP_PROXY };
    process.env.http_proxy = process.env.HTTP_PROXY = `http://127.0.0.1:${proxy.port}`;
    try {
      expect((await publisher().p.deliverOnce({ id: 'sub10', url: r.url }, createDelivery(event))).ok).toBe(true);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
    expect(proxy.connections).toBe(0);
    expect(r.requests).toHaveLength(1);
  });
});

describe('the SSRF guard at delivery', () => {
  it('connects to the address its lookup checked', async () => {
    const r = await receiver([200]);
    const resolve: Resolver = async (name) => (name === 'receiver.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const { p } = publisher({ resolve });
    expect(await p.deliverOnce({ id: 'sub11', url: `http://receiver.test:${r.port}/hook` }, createDelivery(event))).toEqual({ ok: true, status: 200, retryable: false });
    expect(r.requests[0].headers.host).toBe(`receiver.test:${r.port}`);
  });

  it('refuses, without connecting, a name that resolves to loopback (DNS rebinding) when private networks are not allowed', async () => {
    const r = await receiver([200]);
    const resolve: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const { p, logs } = publisher({ allowPrivateNetworks: false, resolve });
    const refused = { ok: false, retryable: false, reason: 'DestinationNotAllowed' };
    expect(await p.deliver({ id: 'sub12', url: `https://rebind.test:${r.port}/hook` }, createDelivery(event))).toEqual({ ...refused, attempts: 1 });
    // With the system resolver: localhost, and loopback literals, are refused before any lookup.
    const system = publisher({ allowPrivateNetworks: false });
    for (const url of [`https://localhost:${r.port}/hook`, `https://127.0.0.1:${r.port}/hook`, `https://[::1]:${r.port}/hook`, `http://93.184.215.14/hook`]) {
      expect(await system.p.deliverOnce({ id: 'sub13', url }, createDelivery(event))).toEqual(refused);
    }
    expect(r.connections).toBe(0);
    expect(logs).toEqual(['warn webhook delivery failed: subscription sub12, event connection.reauthorizationRequired, DestinationNotAllowed']);
  });
});

describe('publish and deliverOnce over the store', () => {
  it('delivers to each subscription listing the event, each with its own delivery id; signed only where a secret is set', async () => {
    const [signed, unsigned, other] = await Promise.all([receiver([200]), receiver([200]), receiver([200])]);
    await store.put('signed', { url: signed.url, events: ['connection.reauthorizationRequired', 'connection.deleted'] }, SECRET);
    await store.put('unsigned', { url: unsigned.url, events: ['connection.reauthorizationRequired'] }, undefined);
    await store.put('other', { url: other.url, events: ['connection.connected'] }, SECRET);
    const at = new Date('2026-11-05T10:00:00.000Z');
    const { p } = publisher({ now: () => at });

    expect((await p.subscriptionIds(event.type)).sort()).toEqual(['signed', 'unsigned']);
    expect(await p.subscriptionIds('provider.clientSecretInvalid')).toEqual([]);
    const report = await p.publish(event);
    expect(report.type).toBe(event.type);
    expect(report.error).toBeUndefined();
    expect(report.deliveries.map((d) => [d.subscriptionId, d.ok, d.attempts]).sort()).toEqual([['signed', true, 1], ['unsigned', true, 1]]);
    expect(new Set(report.deliveries.map((d) => d.deliveryId)).size).toBe(2);
    expect(validSignature(SECRET, signed.requests[0])).toBe(true);
    expect(unsigned.requests[0].headers['x-credman-signature']).toBeUndefined();
    expect(other.requests).toHaveLength(0);
    const received = JSON.parse(signed.requests[0].raw.toString('utf8')) as WebhookDelivery;
    expect(received).toEqual({ id: signed.requests[0].headers['x-credman-delivery'], type: event.type, time: at.toISOString(), data: event.data });
  });

  it('deliverOnce by id loads the secret at the attempt, and reports a deleted or unsubscribed subscription', async () => {
    const r = await receiver([200]);
    await store.put('by-id', { url: r.url, events: ['connection.deleted'] }, SECRET);
    const { p } = publisher();
    const body = createDelivery({ type: 'connection.deleted', data: { providerId: 'gh', connectionId: 'bob' } }, { id: '6f1c1f2e-8a4b-4c53-9a0e-2d7b0f3c9e11', time: '2026-11-05T10:00:00.000Z' });
    expect(await p.deliverOnce('by-id', body)).toEqual({ ok: true, status: 200, retryable: false });
    expect(validSignature(SECRET, r.requests[0])).toBe(true);
    expect(r.requests[0].raw.toString('utf8')).toBe(JSON.stringify(body));
    expect(await p.deliverOnce('by-id', { ...body, type: 'connection.connected' })).toEqual({ ok: false, retryable: false, reason: 'Unsubscribed' });
    await store.delete('by-id');
    expect(await p.deliverOnce('by-id', body)).toEqual({ ok: false, retryable: false, reason: 'SubscriptionDeleted' });
    expect(r.requests).toHaveLength(1);
  });

  it('stores the secret sealed, never in plaintext', async () => {
    await store.put('sealed', { url: 'https://hooks.example.com/x', events: ['connection.connected'] }, SECRET);
    const row = await table.getEntity<{ secrets: string }>('webhooks', 'sealed');
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(Object.keys((JSON.parse(row.secrets) as { f: object }).f)).toEqual(['secret']);
    expect((await store.get('sealed'))?.signed).toBe(true);
    expect(JSON.stringify(await store.get('sealed'))).not.toContain(SECRET);
  });
});
