import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { odata } from '@azure/data-tables';
import { Webhook } from 'standardwebhooks';
import { authCodeConnection, isErrorShape, oauth2Provider, startHost, type TestHost } from '../support/host';

// /webhooks over HTTP on the local host. `strict` runs as in Azure (no private networks);
// `local` keeps the local host's default, which lets receivers on loopback subscribe.

let strict: TestHost;
let local: TestHost;
beforeAll(async () => {
  [strict, local] = await Promise.all([startHost({ CREDMAN_ALLOW_PRIVATE_NETWORKS: 'false' }), startHost()]);
}, 60000);
afterAll(async () => {
  await Promise.all([strict?.stop(), local?.stop()]);
});

const WHSEC = /^whsec_[A-Za-z0-9+/]{43}=$/;
/** A Logic Apps callback URL: its query (the SAS sig above all) is a credential. */
const SAS = '?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zx9-SAS_signature-0123456789';
const SAS_REDACTED = '?api-version=***&sp=***&sv=***&sig=***';
const sub = (properties: Record<string, unknown> = {}) => ({
  properties: { url: 'https://hooks.example.com/credman', events: ['connection.connected', 'connection.reauthorizationRequired'], ...properties },
});

/** A whsec_ secret's key as it might leak: whole, its base64, the key bytes in other encodings. */
function encodings(secret: string): string[] {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return [secret, secret.slice('whsec_'.length), encodeURIComponent(secret), key.toString('base64url'), key.toString('hex')];
}

async function rawRows(host: TestHost): Promise<string> {
  const rows: string[] = [];
  for await (const e of host.table('credmanWebhooks').listEntities()) rows.push(JSON.stringify(e));
  return rows.join('\n');
}

describe('CRUD', () => {
  it('creates (201) with a whsec_ secret shown once, replaces (200), reads and lists with ETags; the secret is sealed at rest', async () => {
    const created = await strict.request('PUT', '/webhooks/ops', { body: sub() });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBeTruthy();
    expect(created.body).toMatchObject({
      id: '/webhooks/ops',
      name: 'ops',
      type: 'webhooks',
      properties: { url: 'https://hooks.example.com/credman', events: ['connection.connected', 'connection.reauthorizationRequired'], signed: true, secret: expect.stringMatching(WHSEC) },
    });
    expect(Object.keys(created.body.properties).sort()).toEqual(['changedOn', 'createdOn', 'events', 'secret', 'signed', 'url']);
    const SECRET = created.body.properties.secret as string;

    const replaced = await strict.request('PUT', '/webhooks/ops', { body: sub({ events: ['connection.deleted'] }) });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).not.toBe(created.headers.get('etag'));
    expect(replaced.body.properties.createdOn).toBe(created.body.properties.createdOn);
    expect(replaced.body.properties.events).toEqual(['connection.deleted']);
    expect(replaced.body.properties).toMatchObject({ signed: true });
    expect(replaced.body.properties.secret).toBeUndefined();

    const got = await strict.request('GET', '/webhooks/ops');
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe(replaced.headers.get('etag'));
    expect(got.body).toEqual(replaced.body);

    const list = await strict.request('GET', '/webhooks');
    expect(list.status).toBe(200);
    expect(list.body.value.find((w: { name: string }) => w.name === 'ops')).toEqual(replaced.body);

    const texts = [replaced.text, got.text, list.text].join('\n');
    for (const form of encodings(SECRET)) expect(texts).not.toContain(form);

    const rows = await rawRows(strict);
    for (const form of encodings(SECRET)) expect(rows).not.toContain(form);
    const row = await strict.table('credmanWebhooks').getEntity<{ secrets: string }>('webhooks', 'ops');
    const envelope = JSON.parse(row.secrets) as { v: number; kid: string; f: Record<string, string> };
    expect(envelope).toMatchObject({ v: 1, kid: expect.stringMatching(/^local:/) });
    expect(Object.keys(envelope.f)).toEqual(['current']);
  });

  it('issues the secret: a secret in the body is refused (UnknownField), and a replace never shows or changes it', async () => {
    const r = await strict.request('PUT', '/webhooks/mine', { body: sub({ secret: 'whsec_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0' }) });
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual([expect.objectContaining({ code: 'UnknownField', target: 'properties.secret' })]);
    const created = await strict.request('PUT', '/webhooks/mine', { body: sub() });
    const replaced = await strict.request('PUT', '/webhooks/mine', { body: sub({ events: ['connection.deleted'] }) });
    expect(replaced.body.properties).toMatchObject({ signed: true });
    expect(replaced.text).not.toContain(created.body.properties.secret);
    expect(replaced.body.properties.secret).toBeUndefined();
  });

  it('honours If-Match on PUT and DELETE, deletes (200) and then answers 204 and 404 WebhookNotFound', async () => {
    const first = await strict.request('PUT', '/webhooks/cond', { body: sub() });
    const etag = first.headers.get('etag') as string;
    const second = await strict.request('PUT', '/webhooks/cond', { body: sub(), headers: { 'if-match': etag } });
    expect(second.status).toBe(200);
    expect((await strict.request('PUT', '/webhooks/cond', { body: sub(), headers: { 'if-match': etag } })).body.error.code).toBe('PreconditionFailed');
    expect((await strict.request('DELETE', '/webhooks/cond', { headers: { 'if-match': etag } })).status).toBe(412);
    expect((await strict.request('PUT', '/webhooks/cond-new', { body: sub(), headers: { 'if-match': '*' } })).status).toBe(412);
    expect((await strict.request('DELETE', '/webhooks/cond', { headers: { 'if-match': second.headers.get('etag') as string } })).status).toBe(200);
    expect((await strict.request('DELETE', '/webhooks/cond')).status).toBe(204);
    const missing = await strict.request('GET', '/webhooks/cond');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('WebhookNotFound');
  });

  it('pages with $top and nextLink', async () => {
    for (const id of ['a', 'b', 'c']) expect((await strict.request('PUT', `/webhooks/page-${id}`, { body: sub() })).status).toBe(201);
    const seen: string[] = [];
    let next: string | undefined = '/webhooks?$top=2';
    while (next) {
      const page = await strict.request('GET', next);
      expect(page.status).toBe(200);
      expect(page.body.value.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.value.map((w: { name: string }) => w.name));
      next = page.body.nextLink;
    }
    expect(seen).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('POST /webhooks (the server chooses the id)', () => {
  it('creates (201) with ETag and an absolute Location that reads, replaces and deletes the subscription', async () => {
    const created = await strict.request('POST', '/webhooks', { body: sub() });
    expect(created.status).toBe(201);
    const location = created.headers.get('location') as string;
    expect(created.headers.get('etag')).toBeTruthy();
    const id = created.body.name as string;
    expect(id).toMatch(/^wh-[0-9a-f]{32}$/);
    expect(location).toBe(`${strict.apiUrl}/webhooks/${id}`);
    expect(created.body).toMatchObject({ id: `/webhooks/${id}`, type: 'webhooks', properties: { url: 'https://hooks.example.com/credman', signed: true, secret: expect.stringMatching(WHSEC) } });

    const got = await strict.request('GET', location);
    expect(got.status).toBe(200);
    const { secret, ...shown } = created.body.properties;
    expect(got.body).toEqual({ ...created.body, properties: shown });
    expect(got.text).not.toContain(secret);
    expect(got.headers.get('etag')).toBe(created.headers.get('etag'));
    const replaced = await strict.request('PUT', location, { body: sub({ events: ['connection.deleted'] }), headers: { 'if-match': created.headers.get('etag') as string } });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('location')).toBeNull();

    const again = await strict.request('POST', '/webhooks', { body: sub() });
    expect(again.status).toBe(201);
    expect(again.body.name).not.toBe(id);

    expect((await strict.request('DELETE', location)).status).toBe(200);
    expect((await strict.request('GET', location)).body.error.code).toBe('WebhookNotFound');
    expect((await strict.request('DELETE', location)).status).toBe(204);
    expect((await strict.request('DELETE', again.headers.get('location') as string)).status).toBe(200);
  });

  it('answers a PUT that creates with Location too', async () => {
    const r = await strict.request('PUT', '/webhooks/with-location', { body: sub() });
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${strict.apiUrl}/webhooks/with-location`);
  });

  it('validates the body as PUT does, and creates nothing on a refusal', async () => {
    const before = (await strict.request('GET', '/webhooks?$top=100')).body.value.length;
    for (const [body, target] of [
      [sub({ url: 'https://169.254.169.254/latest/meta-data/' }), 'properties.url'],
      [sub({ url: 'http://hooks.example.com/' }), 'properties.url'],
      [sub({ events: ['connection.exploded'] }), 'properties.events.0'],
      [sub({ events: [] }), 'properties.events'],
      [sub({ secret: 'short' }), 'properties.secret'],
      [{ ...sub(), name: 'mine' }, 'name'],
    ] as const) {
      const r = await strict.request('POST', '/webhooks', { body });
      expect(r.status).toBe(400);
      expect(isErrorShape(r.body)).toBe(true);
      expect(r.body.error.code).toBe('ValidationError');
      expect(r.body.error.details.map((d: { target: string }) => d.target)).toContain(target);
      expect(r.headers.get('location')).toBeNull();
    }
    const bad = await strict.request('POST', '/webhooks', { rawBody: '{"properties":', headers: { 'content-type': 'application/json' } });
    expect(bad.body.error.code).toBe('InvalidJson');
    expect((await strict.request('POST', '/webhooks', { rawBody: 'url=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
    expect((await strict.request('GET', '/webhooks?$top=100')).body.value.length).toBe(before);
  });
});

describe('validation', () => {
  const expect400 = async (body: unknown, target: string, code?: string, host = strict) => {
    const r = await host.request('PUT', '/webhooks/bad', { body });
    expect(r.status).toBe(400);
    expect(isErrorShape(r.body)).toBe(true);
    expect(r.body.error.code).toBe('ValidationError');
    const detail = r.body.error.details.find((d: { target: string }) => d.target === target);
    expect(detail).toBeDefined();
    if (code) expect(detail.code).toBe(code);
    return r;
  };

  it('refuses bad URLs, naming properties.url', async () => {
    await expect400(sub({ url: 'not a url' }), 'properties.url', 'InvalidUrl');
    await expect400(sub({ url: 'ftp://hooks.example.com/' }), 'properties.url', 'SchemeNotAllowed');
    await expect400(sub({ url: 'http://hooks.example.com/' }), 'properties.url', 'SchemeNotAllowed');
    await expect400(sub({ url: 'https://user:pw@hooks.example.com/' }), 'properties.url', 'CredentialsInUrl');
    await expect400(sub({ url: `https://hooks.example.com/${'x'.repeat(2100)}` }), 'properties.url');
  });

  it('refuses private, loopback and metadata addresses when private networks are not allowed', async () => {
    for (const url of [
      'https://169.254.169.254/latest/meta-data/',
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.0.0.4/hook',
      'https://192.168.1.20/hook',
      'https://172.16.5.5/hook',
      'https://100.64.0.1/hook',
      'https://[::1]/hook',
      'https://[fd00::1]/hook',
      'https://[::ffff:169.254.169.254]/hook',
    ]) {
      const r = await expect400(sub({ url }), 'properties.url', 'DestinationNotAllowed');
      expect(r.text).not.toContain('whsec');
    }
    expect((await strict.request('GET', '/webhooks/bad')).status).toBe(404);
  });

  it('lets loopback and http receivers subscribe on the local host, which allows private networks', async () => {
    const r = await local.request('PUT', '/webhooks/laptop', { body: sub({ url: 'http://127.0.0.1:8088/hook' }) });
    expect(r.status).toBe(201);
    // Never credentials, never other schemes.
    await expect400(sub({ url: 'http://u:p@localhost:8088/' }), 'properties.url', 'CredentialsInUrl', local);
    await expect400(sub({ url: 'file:///etc/passwd' }), 'properties.url', 'SchemeNotAllowed', local);
  });

  it('refuses unknown, empty and repeated events', async () => {
    await expect400(sub({ events: ['connection.exploded'] }), 'properties.events.0', 'InvalidValue');
    await expect400(sub({ events: [] }), 'properties.events');
    await expect400(sub({ events: ['connection.deleted', 'connection.deleted'] }), 'properties.events');
    await expect400({ properties: { url: 'https://hooks.example.com/' } }, 'properties.events');
  });

  it('names unknown fields', async () => {
    await expect400(sub({ sekret: 'x' }), 'properties.sekret', 'UnknownField');
    await expect400({ ...sub(), extra: 1 }, 'extra', 'UnknownField');
    await expect400(sub({ secret: 'x'.repeat(40) }), 'properties.secret', 'UnknownField');
  });

  it('refuses a bad subscriptionId', async () => {
    const r = await strict.request('PUT', '/webhooks/bad%20id', { body: sub() });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('InvalidIdentifier');
    expect(r.body.error.details[0].target).toBe('subscriptionId');
  });
});

describe('access', () => {
  it('requires the admin role (403) and a token (401) on every route', async () => {
    const user = await strict.token({});
    for (const [method, path, body] of [
      ['GET', '/webhooks'],
      ['POST', '/webhooks', sub()],
      ['GET', '/webhooks/ops'],
      ['PUT', '/webhooks/ops', sub()],
      ['DELETE', '/webhooks/ops'],
      ['POST', '/webhooks/ops/rotateSecret', {}],
    ] as const) {
      const forbidden = await strict.request(method, path, { token: user, body });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error.code).toBe('Forbidden');
      expect((await strict.request(method, path, { token: null, body })).status).toBe(401);
    }
    expect((await strict.request('GET', '/webhooks/ops')).status).toBe(200);
  });
});

describe('rotating the signing secret', () => {
  it('issues a new secret shown once; the previous one signs beside it until previousSecretExpiresOn; If-Match and 404 honoured', async () => {
    const created = await strict.request('PUT', '/webhooks/rot', { body: sub() });
    const first = created.body.properties.secret as string;
    const before = Date.now();
    const rotated = await strict.request('POST', '/webhooks/rot/rotateSecret', { body: {}, headers: { 'if-match': created.headers.get('etag') as string } });
    expect(rotated.status).toBe(200);
    expect(rotated.headers.get('etag')).not.toBe(created.headers.get('etag'));
    const second = rotated.body.properties.secret as string;
    expect(second).toMatch(WHSEC);
    expect(second).not.toBe(first);
    // 24 hours by default.
    const expires = Date.parse(rotated.body.properties.previousSecretExpiresOn);
    expect(expires).toBeGreaterThanOrEqual(before + 24 * 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 24 * 3_600_000 + 1000);

    const got = await strict.request('GET', '/webhooks/rot');
    expect(got.body.properties.previousSecretExpiresOn).toBe(rotated.body.properties.previousSecretExpiresOn);
    expect(got.body.properties.secret).toBeUndefined();
    const shown = [got.text, (await strict.request('GET', '/webhooks?$top=100')).text].join('\n');
    const rows = await rawRows(strict);
    for (const s of [first, second])
      for (const form of encodings(s)) {
        expect(shown).not.toContain(form);
        expect(rows).not.toContain(form);
      }
    const envelope = JSON.parse((await strict.table('credmanWebhooks').getEntity<{ secrets: string }>('webhooks', 'rot')).secrets) as { f: object };
    expect(Object.keys(envelope.f).sort()).toEqual(['current', 'previous']);

    // A stale ETag, an unknown subscription, a bad body.
    expect((await strict.request('POST', '/webhooks/rot/rotateSecret', { body: {}, headers: { 'if-match': created.headers.get('etag') as string } })).body.error.code).toBe('PreconditionFailed');
    const missing = await strict.request('POST', '/webhooks/nope/rotateSecret', { body: {} });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('WebhookNotFound');
    for (const body of [{ keepPreviousSecretForHours: 169 }, { keepPreviousSecretForHours: 1.5 }, { keepPreviousSecretForHours: -1 }, { secret: 'mine' }]) {
      const bad = await strict.request('POST', '/webhooks/rot/rotateSecret', { body });
      expect(bad.status).toBe(400);
      expect(isErrorShape(bad.body)).toBe(true);
    }

    // 0 hours: the previous secret stops at once (a leaked one); the one before it is gone too.
    const now = await strict.request('POST', '/webhooks/rot/rotateSecret', { body: { keepPreviousSecretForHours: 0 } });
    expect(now.status).toBe(200);
    expect(now.body.properties.previousSecretExpiresOn).toBeUndefined();
    const after = JSON.parse((await strict.table('credmanWebhooks').getEntity<{ secrets: string }>('webhooks', 'rot')).secrets) as { f: object };
    expect(Object.keys(after.f)).toEqual(['current']);
  });
});

describe('a subscription URL that carries a SAS sig (a Logic Apps callback)', () => {
  const callback = `https://prod-07.westeurope.logic.azure.com/workflows/6c1f/triggers/manual/paths/invoke${SAS}`;
  const redacted = `https://prod-07.westeurope.logic.azure.com/workflows/6c1f/triggers/manual/paths/invoke${SAS_REDACTED}`;

  it('is not in the table row in plain text, and every answer shows it redacted', async () => {
    const created = await strict.request('POST', '/webhooks', { body: sub({ url: callback }) });
    expect(created.status).toBe(201);
    const id = created.body.name as string;
    expect(created.body.properties.url).toBe(redacted);
    const got = await strict.request('GET', `/webhooks/${id}`);
    expect(got.body.properties.url).toBe(redacted);
    const list = await strict.request('GET', '/webhooks?$top=100');
    expect(list.body.value.find((w: { name: string }) => w.name === id).properties.url).toBe(redacted);
    const rotated = await strict.request('POST', `/webhooks/${id}/rotateSecret`, { body: {} });
    expect(rotated.body.properties.url).toBe(redacted);
    const replaced = await strict.request('PUT', `/webhooks/${id}`, { body: sub({ url: callback, events: ['connection.deleted'] }) });
    expect(replaced.body.properties.url).toBe(redacted);
    for (const r of [created, got, list, rotated, replaced]) expect(r.text).not.toContain('Zx9-SAS_signature');

    const row = await strict.table('credmanWebhooks').getEntity<Record<string, unknown>>('webhooks', id);
    expect(row.url).toBe(redacted);
    expect(await rawRows(strict)).not.toContain('Zx9-SAS_signature');
    expect(strict.output()).not.toContain('Zx9-SAS_signature');
    expect((await strict.request('DELETE', `/webhooks/${id}`)).status).toBe(200);
  });
});

describe('deliveries through the local host', () => {
  interface Delivery {
    url: string;
    headers: IncomingHttpHeaders;
    raw: Buffer;
  }
  let receiver: Server;
  const received: Delivery[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  });
  afterAll(() => new Promise((ok) => receiver?.close(ok)));

  /** Webhook.verify of the standardwebhooks library, as a receiver runs it: true, or why not. */
  const verify = (secret: string, d: Delivery): true | string => {
    try {
      new Webhook(secret).verify(d.raw, d.headers as Record<string, string>);
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('reach the full URL, sig and all, signed so that a receiver holding the old or the new secret verifies during a rotation', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/invoke${SAS}`;
    const created = await local.request('POST', '/webhooks', { body: sub({ url, events: ['connection.deleted'] }) });
    expect(created.status).toBe(201);
    expect(created.body.properties.url).toBe(`http://127.0.0.1:${(receiver.address() as AddressInfo).port}/invoke${SAS_REDACTED}`);
    const id = created.body.name as string;
    const oldSecret = created.body.properties.secret as string;
    const rotated = await local.request('POST', `/webhooks/${id}/rotateSecret`, { body: { keepPreviousSecretForHours: 1 } });
    const newSecret = rotated.body.properties.secret as string;

    expect((await local.request('PUT', '/providers/hooks', { body: oauth2Provider() })).status).toBe(201);
    expect((await local.request('PUT', '/providers/hooks/connections/gone', { body: authCodeConnection })).status).toBe(201);
    expect((await local.request('DELETE', '/providers/hooks/connections/gone')).status).toBe(200);
    const end = Date.now() + 20_000;
    while (received.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(received).toHaveLength(1);
    const [d] = received;
    expect(d.url).toBe(`/invoke${SAS}`);
    expect(JSON.parse(d.raw.toString('utf8'))).toMatchObject({ type: 'connection.deleted', data: { providerId: 'hooks', connectionId: 'gone' } });
    expect(d.headers['webhook-id']).toBe(JSON.parse(d.raw.toString('utf8')).id);
    expect(verify(oldSecret, d)).toBe(true);
    expect(verify(newSecret, d)).toBe(true);
    // Nowhere in what the host logged.
    expect(local.output()).not.toContain('Zx9-SAS_signature');
    expect((await local.request('DELETE', `/webhooks/${id}`)).status).toBe(200);
  }, 40_000);
});

describe('limit', () => {
  it('holds at most 100 subscriptions (409 LimitExceeded); replacing one still works, and a delete frees a place', async () => {
    const count = async () => {
      let n = 0;
      for await (const _ of local.table('credmanWebhooks').listEntities({ queryOptions: { filter: odata`PartitionKey eq ${'webhooks'} and RowKey ge ${'0'}` } })) n++;
      return n;
    };
    const ids = Array.from({ length: 100 - (await count()) }, (_, i) => `fill-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < ids.length; i += 10) {
      const statuses = await Promise.all(ids.slice(i, i + 10).map(async (id) => (await local.request('PUT', `/webhooks/${id}`, { body: sub() })).status));
      expect(statuses.every((s) => s === 201)).toBe(true);
    }
    expect(await count()).toBe(100);
    const over = await local.request('PUT', '/webhooks/one-too-many', { body: sub() });
    expect(over.status).toBe(409);
    expect(over.body.error.code).toBe('LimitExceeded');
    const posted = await local.request('POST', '/webhooks', { body: sub() });
    expect(posted.status).toBe(409);
    expect(posted.body.error.code).toBe('LimitExceeded');
    expect(posted.headers.get('location')).toBeNull();
    expect(await count()).toBe(100);
    expect((await local.request('PUT', `/webhooks/${ids[0]}`, { body: sub({ events: ['connection.deleted'] }) })).status).toBe(200);
    expect((await local.request('DELETE', `/webhooks/${ids[1]}`)).status).toBe(200);
    expect((await local.request('PUT', '/webhooks/one-too-many', { body: sub() })).status).toBe(201);
  });
});

it('is described in /openapi.json', async () => {
  const doc = (await strict.request('GET', '/openapi.json', { token: null })).body;
  expect(Object.keys(doc.paths['/webhooks/{subscriptionId}']).sort()).toEqual(['delete', 'get', 'put']);
  expect(doc.paths['/webhooks'].get.operationId).toBe('listWebhooks');
  expect(doc.paths['/webhooks'].post).toMatchObject({
    operationId: 'createWebhook',
    requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookPut' } } } },
    responses: { '201': { headers: { Location: { schema: { type: 'string', format: 'uri' } } } } },
  });
  expect(doc.paths['/webhooks/{subscriptionId}'].put.responses['201'].headers.Location).toBeDefined();
  expect(doc.components.schemas.WebhookPut.properties.properties.properties.events.items.enum).toContain('provider.clientSecretInvalid');
  expect(doc.components.schemas.Webhook.properties.properties.properties.secret).toBeUndefined();
  expect(doc.components.schemas.WebhookPut.properties.properties.properties.secret).toBeUndefined();
  // The secret only in the answers that issue it.
  expect(doc.paths['/webhooks'].post.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/WebhookWithSecret');
  expect(doc.paths['/webhooks/{subscriptionId}'].put.responses['201'].content['application/json'].schema.$ref).toBe('#/components/schemas/WebhookWithSecret');
  expect(doc.paths['/webhooks/{subscriptionId}'].put.responses['200'].content['application/json'].schema.$ref).toBe('#/components/schemas/Webhook');
  expect(doc.components.schemas.WebhookWithSecret.properties.properties.required).toContain('secret');
  expect(doc.paths['/webhooks/{subscriptionId}/rotateSecret'].post).toMatchObject({
    operationId: 'rotateWebhookSecret',
    requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookRotateSecret' } } } },
    responses: { '200': { content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookWithSecret' } } } } },
  });
  // What a receiver gets: the Standard Webhooks headers and the body.
  const delivery = doc.webhooks.event.post;
  expect(delivery.parameters.map((p: { name: string }) => p.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'X-Credman-Event']);
  expect(delivery.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/WebhookDelivery');
});
