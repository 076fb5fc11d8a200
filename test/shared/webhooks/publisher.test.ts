import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { Webhook } from 'standardwebhooks';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { RecordIntegrity } from '../../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import type { WebhookDelivery } from '../../../shared/model/webhookSchemas';
import { WebhookStore } from '../../../shared/store/webhooks';
import type { Resolver } from '../../../shared/net/destination';
import { createDelivery, WebhookPublisher, type PublisherOptions } from '../../../shared/webhooks/publisher';
import { asSigningSecret, newSigningSecret } from '../../../shared/webhooks/signing';

// Deliveries to receivers on loopback: retries, Standard Webhooks signatures checked by the
// standardwebhooks library as a receiver checks them, replays, secret rotation, what is not
// retried, the SSRF guard at connect time, and publish/deliverOnce over the real store on Azurite,
// which seals the URL's query.

interface Received {
  url: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  /** Set by a verifying receiver: what Webhook.verify said. */
  verified?: true | string;
}

/**
 * A receiver answering each request with the next scripted [status, headers]; the last one
 * repeats. Given a secret it verifies first, as a receiver should, with Webhook.verify of the
 * standardwebhooks library, and answers 401 to what does not verify.
 */
class Receiver {
  readonly requests: Received[] = [];
  connections = 0;
  private server!: http.Server;
  constructor(
    private readonly script: Array<[number, Record<string, string>?] | 'hang'>,
    private readonly secret?: string,
  ) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const got: Received = { url: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks) };
        this.requests.push(got);
        if (this.secret) {
          got.verified = verify(this.secret, got);
          if (got.verified !== true) return void res.writeHead(401).end();
        }
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

/** Verifies as a receiver does: Webhook.verify over the raw bytes; true, or why not. */
function verify(secret: string, r: Pick<Received, 'headers' | 'raw'>): true | string {
  try {
    new Webhook(secret).verify(r.raw, r.headers as Record<string, string>);
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}
const validSignature = (secret: string, r: Received) => verify(secret, r) === true;

/** Sends captured bytes and headers again, as an attacker who recorded a delivery would. */
function replay(url: string, r: Received, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((ok, fail) => {
    const req = http.request(url, { method: 'POST', headers: { ...(r.headers as Record<string, string>), ...headers } }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end(r.raw);
  });
}

const SECRET = newSigningSecret();
const event = {
  type: 'connection.reauthorizationRequired' as const,
  data: { providerId: 'gh', connectionId: 'alice', status: 'Error' as const, error: { code: 'ReauthorizationRequired', message: 'Consent again.' } },
};

let azurite: EmbeddedAzurite;
let dir: string;
let store: WebhookStore;
let cipher: EnvelopeCipher;
let table: TableClient;
const receivers: Receiver[] = [];
const receiver = async (...script: ConstructorParameters<typeof Receiver>[0]) => {
  const r = await new Receiver(script).start();
  receivers.push(r);
  return r;
};
/** A receiver that verifies with `secret` and answers 204 to what verifies. */
const verifying = async (secret: string) => {
  const r = await new Receiver([[204]], secret).start();
  receivers.push(r);
  return r;
};

beforeAll(async () => {
  [azurite, dir] = await Promise.all([startAzurite(), mkdtemp(join(tmpdir(), 'credman-webhooks-'))]);
  cipher = new EnvelopeCipher(await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined), new DekCache({ ttlMs: 60_000, maxEntries: 100 }));
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
  it('retries 503 twice, then succeeds: 3 attempts, one webhook-id, each attempt signed at its own time and verified by Webhook.verify', async () => {
    const r = await receiver([503], [503], [204]);
    let clock = Date.now();
    const { p, waits, logs } = publisher({ now: () => new Date((clock += 2000)) });
    const body = createDelivery(event);
    const result = await p.deliver({ id: 'sub1', url: r.url, secrets: [SECRET] }, body);
    expect(result).toEqual({ ok: true, status: 204, retryable: false, attempts: 3 });
    expect(r.requests).toHaveLength(3);
    for (const req of r.requests) {
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['x-credman-event']).toBe('connection.reauthorizationRequired');
      expect(req.headers['webhook-id']).toBe(body.id);
      expect(req.headers['x-credman-delivery']).toBeUndefined();
      expect(req.headers['x-credman-signature']).toBeUndefined();
      expect(validSignature(SECRET, req)).toBe(true);
      expect(verify(newSigningSecret(), req)).toBe('No matching signature found');
      const parsed = JSON.parse(req.raw.toString('utf8')) as WebhookDelivery;
      expect(parsed).toEqual(body);
    }
    // Each attempt carries its own time (so a late retry is still fresh) under the same id.
    expect(new Set(r.requests.map((q) => q.headers['webhook-timestamp'])).size).toBe(3);
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

  it('sends no webhook-signature without a secret', async () => {
    const r = await receiver([200]);
    const { p } = publisher();
    expect((await p.deliverOnce({ id: 'sub4', url: r.url }, createDelivery(event))).ok).toBe(true);
    expect(r.requests[0].headers['webhook-signature']).toBeUndefined();
    expect(r.requests[0].headers['webhook-id']).toBeDefined();
  });

  it('a captured delivery replayed later than the tolerance fails verification, and its timestamp cannot be refreshed', async () => {
    const r = await verifying(SECRET);
    const { p } = publisher();
    expect(await p.deliverOnce({ id: 'replayed', url: r.url, secrets: [SECRET] }, createDelivery(event))).toEqual({ ok: true, status: 204, retryable: false });
    const captured = r.requests[0];
    expect(captured.verified).toBe(true);
    // At once, the replay would pass the signature (deduplicating on webhook-id is the receiver's
    // answer to that); six minutes later the library refuses it.
    const later = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 6 * 60_000);
    try {
      expect(await replay(r.url, captured)).toBe(401);
      expect(r.requests[1].verified).toBe('Message timestamp too old');
      const fresh = String(Math.floor(Date.now() / 1000));
      expect(await replay(r.url, captured, { 'webhook-timestamp': fresh })).toBe(401);
      expect(r.requests[2].verified).toBe('No matching signature found');
    } finally {
      later.mockRestore();
    }
  });

  it('honours Retry-After on 429 and 503, and gives up when it is longer than it may wait', async () => {
    const r = await receiver([429, { 'Retry-After': '2' }], [200]);
    const { p, waits } = publisher();
    expect(await p.deliver({ id: 'sub5', url: r.url }, createDelivery(event))).toMatchObject({ ok: true, attempts: 2 });
    expect(waits).toEqual([2000]);

    const later = await receiver([503, { 'Retry-After': '3600' }]);
    const second = publisher();
    expect(await second.p.deliver({ id: 'sub6', url: later.url }, createDelivery(event))).toEqual({
      ok: false,
      status: 503,
      retryable: true,
      retryAfterMs: 3_600_000,
      reason: 'HttpStatus',
      attempts: 1,
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
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
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
  it('delivers to each subscription listing the event, each with its own delivery id, signed with its own secret', async () => {
    const SECOND = newSigningSecret();
    const [first, second, other] = await Promise.all([verifying(SECRET), verifying(SECOND), receiver([200])]);
    await store.put('first', { url: first.url, events: ['connection.reauthorizationRequired', 'connection.deleted'] }, SECRET);
    await store.put('second', { url: second.url, events: ['connection.reauthorizationRequired'] }, SECOND);
    await store.put('other', { url: other.url, events: ['connection.connected'] }, SECRET);
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    const { p } = publisher({ now: () => at });

    expect((await p.subscriptionIds(event.type)).sort()).toEqual(['first', 'second']);
    expect(await p.subscriptionIds('provider.clientSecretInvalid')).toEqual([]);
    const report = await p.publish(event);
    expect(report.type).toBe(event.type);
    expect(report.error).toBeUndefined();
    expect(report.deliveries.map((d) => [d.subscriptionId, d.ok, d.attempts]).sort()).toEqual([
      ['first', true, 1],
      ['second', true, 1],
    ]);
    expect(new Set(report.deliveries.map((d) => d.deliveryId)).size).toBe(2);
    expect([first.requests[0].verified, second.requests[0].verified]).toEqual([true, true]);
    expect(validSignature(SECOND, first.requests[0])).toBe(false);
    expect(other.requests).toHaveLength(0);
    const received = JSON.parse(first.requests[0].raw.toString('utf8')) as WebhookDelivery;
    expect(received).toEqual({ id: first.requests[0].headers['webhook-id'], type: event.type, time: at.toISOString(), data: event.data });
    expect(first.requests[0].headers['webhook-timestamp']).toBe(String(at.getTime() / 1000));
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
    expect(JSON.stringify(row)).not.toContain(SECRET.slice(6));
    expect(Object.keys((JSON.parse(row.secrets) as { f: object }).f)).toEqual(['current']);
    expect((await store.get('sealed'))?.signed).toBe(true);
    expect(JSON.stringify(await store.get('sealed'))).not.toContain(SECRET.slice(6));
  });
});

describe('rotating a secret', () => {
  it('signs with both secrets until the previous one expires: a receiver holding either verifies, then only the new one does', async () => {
    const [OLD, NEW] = [newSigningSecret(), newSigningSecret()];
    const r = await receiver([204]);
    let now = new Date();
    const clocked = new WebhookStore(table, cipher, new RecordIntegrity(cipher, table), () => now);
    await clocked.put('rotating', { url: r.url, events: ['connection.deleted'] }, OLD);
    const rotated = await clocked.rotateSecret('rotating', NEW, 3_600_000);
    expect(rotated?.previousSecretExpiresOn).toBe(new Date(now.getTime() + 3_600_000).toISOString());
    expect((await clocked.get('rotating'))?.previousSecretExpiresOn).toBe(rotated?.previousSecretExpiresOn);

    const p = new WebhookPublisher(clocked, { allowPrivateNetworks: true, maxAttempts: 1 });
    const body = () => createDelivery({ type: 'connection.deleted', data: { providerId: 'gh', connectionId: 'carol' } });
    expect((await p.deliverOnce('rotating', body())).ok).toBe(true);
    expect(String(r.requests[0].headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect([verify(OLD, r.requests[0]), verify(NEW, r.requests[0])]).toEqual([true, true]);
    // A replace (URL, events) keeps both secrets.
    await clocked.put('rotating', { url: r.url, events: ['connection.deleted', 'connection.connected'] }, newSigningSecret());
    expect((await p.deliverOnce('rotating', body())).ok).toBe(true);
    expect([verify(OLD, r.requests[1]), verify(NEW, r.requests[1])]).toEqual([true, true]);

    // Past the hour the old secret no longer signs.
    now = new Date(now.getTime() + 3_600_001);
    expect((await clocked.get('rotating'))?.previousSecretExpiresOn).toBeUndefined();
    expect((await p.deliverOnce('rotating', body())).ok).toBe(true);
    expect(String(r.requests[2].headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect([verify(OLD, r.requests[2]), verify(NEW, r.requests[2])]).toEqual(['No matching signature found', true]);
  });

  it('with no time to keep the previous secret, stops it at once (a leaked secret)', async () => {
    const [OLD, NEW] = [newSigningSecret(), newSigningSecret()];
    const r = await verifying(OLD);
    await store.put('leaked', { url: r.url, events: ['connection.deleted'] }, OLD);
    expect((await store.rotateSecret('leaked', NEW, 0))?.previousSecretExpiresOn).toBeUndefined();
    const { p } = publisher({ maxAttempts: 1 });
    expect(await p.deliverOnce('leaked', createDelivery({ type: 'connection.deleted', data: { providerId: 'gh' } }))).toMatchObject({ ok: false, status: 401 });
    expect(verify(NEW, r.requests[0])).toBe(true);
    expect(await store.rotateSecret('absent', NEW, 0)).toBeUndefined();
  });
});

describe('a URL whose query is a credential (a Logic Apps callback)', () => {
  it('is sealed in the row, redacted in every record, and delivered to in full', async () => {
    const r = await verifying(SECRET);
    const query = '?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zx9-SAS_signature';
    const redacted = `${r.url}?api-version=***&sp=***&sv=***&sig=***`;
    const put = await store.put('logic', { url: `${r.url}${query}`, events: ['connection.reauthorizationRequired'] }, SECRET);
    expect(put.record.url).toBe(redacted);

    const row = await table.getEntity<Record<string, unknown>>('webhooks', 'logic');
    expect(JSON.stringify(row)).not.toContain('Zx9-SAS_signature');
    expect(row.url).toBe(redacted);
    expect((await store.get('logic'))?.url).toBe(redacted);
    expect((await store.subscribedTo('connection.reauthorizationRequired')).find((w) => w.id === 'logic')?.url).toBe(redacted);
    const listed: string[] = [];
    for (let page = await store.list(100); ; page = await store.list(100, page.skipToken)) {
      listed.push(...page.items.map((w) => JSON.stringify(w)));
      if (!page.skipToken) break;
    }
    expect(listed.join()).toContain(redacted);
    expect(listed.join()).not.toContain('Zx9');

    const { p, logs } = publisher({ maxAttempts: 1 });
    const report = await p.publish(event);
    expect(report.deliveries.find((d) => d.subscriptionId === 'logic')?.ok).toBe(true);
    expect(await p.deliverOnce('logic', createDelivery(event))).toMatchObject({ ok: true });
    expect(r.requests.map((q) => q.url)).toEqual([`/hook${query}`, `/hook${query}`]);
    expect(r.requests.every((q) => q.verified === true)).toBe(true);
    expect(logs.join()).not.toContain('Zx9');

    // Sending back the URL as it was shown keeps the sealed query; a new URL replaces it.
    await store.put('logic', { url: redacted, events: ['connection.reauthorizationRequired', 'connection.deleted'] }, newSigningSecret());
    expect((await store.getForDelivery('logic'))?.url).toBe(`${r.url}${query}`);
    await store.put('logic', { url: `${r.url}?sig=other`, events: ['connection.deleted'] }, newSigningSecret());
    expect((await store.getForDelivery('logic'))?.url).toBe(`${r.url}?sig=other`);
    expect((await store.get('logic'))?.url).toBe(`${r.url}?sig=***`);
    await store.delete('logic');
  });
});

describe('a row saved by an earlier credman (its own secret, the URL in plain)', () => {
  it('is shown redacted, delivered signed with its secret in whsec_ form, and sealed at its next save', async () => {
    const legacy = 'receiver-secret-0123456789';
    const r = await verifying(asSigningSecret(legacy));
    // Its own table: a row without a MAC is accepted only if written before the MAC key was made.
    const table = TableClient.fromConnectionString(azurite.connectionString, 'testWebhooksLegacy', { allowInsecureConnection: true });
    await table.createTable();
    const loc = { table: table.tableName, partitionKey: 'webhooks', rowKey: 'old' };
    await table.createEntity({
      partitionKey: 'webhooks',
      rowKey: 'old',
      url: `${r.url}?sig=OLD-SAS`,
      events: JSON.stringify(['connection.deleted']),
      secrets: await cipher.seal(loc, { secret: legacy }),
      createdOn: '2026-10-01T00:00:00.000Z',
      changedOn: '2026-10-01T00:00:00.000Z',
    });
    await new Promise((done) => setTimeout(done, 50));
    const store = new WebhookStore(table, cipher, new RecordIntegrity(cipher, table));
    expect((await store.get('old'))?.url).toBe(`${r.url}?sig=***`);
    const p = new WebhookPublisher(store, { allowPrivateNetworks: true, maxAttempts: 1 });
    expect(await p.deliverOnce('old', createDelivery({ type: 'connection.deleted', data: { providerId: 'gh' } }))).toMatchObject({ ok: true });
    expect(r.requests[0]).toMatchObject({ url: '/hook?sig=OLD-SAS', verified: true });

    // Sent back as shown: the query stays, now sealed; the secret stays; none is issued.
    const saved = await store.put('old', { url: `${r.url}?sig=***`, events: ['connection.deleted'] }, newSigningSecret());
    expect(saved.secretIssued).toBe(false);
    expect(JSON.stringify(await table.getEntity('webhooks', 'old'))).not.toContain('OLD-SAS');
    expect(await p.deliverOnce('old', createDelivery({ type: 'connection.deleted', data: { providerId: 'gh' } }))).toMatchObject({ ok: true });
    expect(r.requests[1]).toMatchObject({ url: '/hook?sig=OLD-SAS', verified: true });
    await store.delete('old');
  });
});
