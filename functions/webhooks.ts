import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { parseIdentifier } from '../shared/model/identifiers';
import { webhookPutSchema, webhookRotateSecretSchema } from '../shared/model/webhookSchemas';
import { collection, handle, ifMatch, json, paging, readJson } from './lib/http';
import { requireAdmin } from './lib/runtime';

const subscriptionId = (request: HttpRequest) => parseIdentifier(request.params.subscriptionId, 'subscriptionId');

/** The subscription's absolute URL, on the host the request came to (as nextLink and operation URLs are). */
const subscriptionUrl = (request: HttpRequest, id: string) => new URL(`/api/webhooks/${encodeURIComponent(id)}`, request.url).toString();

const created = (request: HttpRequest, id: string, resource: unknown, etag: string): HttpResponseInit => {
  const res = json(201, resource, etag);
  return { ...res, headers: { ...(res.headers as Record<string, string>), Location: subscriptionUrl(request, id) } };
};

export async function listWebhooks(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { top, skipToken } = paging(request);
  return collection(request, await s.webhooks.list(top, skipToken), top);
}

export async function getWebhook(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { resource, etag } = await s.webhooks.get(subscriptionId(request));
  return json(200, resource, etag);
}

export async function putWebhook(request: HttpRequest) {
  const s = await requireAdmin(request);
  const id = subscriptionId(request);
  const body = await readJson(request, webhookPutSchema);
  const r = await s.webhooks.put(id, body, ifMatch(request));
  return r.created ? created(request, id, r.resource, r.etag) : json(200, r.resource, r.etag);
}

/** POST /webhooks: the server names the subscription; Location says where it is (Logic Apps deletes it there). */
export async function createWebhook(request: HttpRequest) {
  const s = await requireAdmin(request);
  const body = await readJson(request, webhookPutSchema);
  const r = await s.webhooks.create(body);
  return created(request, r.id, r.resource, r.etag);
}

/** POST /webhooks/{id}/rotateSecret: a new secret, shown once; the old one signs beside it for a while. */
export async function rotateWebhookSecret(request: HttpRequest) {
  const s = await requireAdmin(request);
  const id = subscriptionId(request);
  const body = await readJson(request, webhookRotateSecretSchema);
  const r = await s.webhooks.rotateSecret(id, body, ifMatch(request));
  return json(200, r.resource, r.etag);
}

export async function deleteWebhook(request: HttpRequest) {
  const s = await requireAdmin(request);
  return { status: (await s.webhooks.delete(subscriptionId(request), ifMatch(request))) ? 200 : 204 };
}

app.http('listWebhooks', { methods: ['GET'], route: 'webhooks', authLevel: 'anonymous', handler: handle(listWebhooks) });
app.http('createWebhook', { methods: ['POST'], route: 'webhooks', authLevel: 'anonymous', handler: handle(createWebhook) });
app.http('getWebhook', { methods: ['GET'], route: 'webhooks/{subscriptionId}', authLevel: 'anonymous', handler: handle(getWebhook) });
app.http('putWebhook', { methods: ['PUT'], route: 'webhooks/{subscriptionId}', authLevel: 'anonymous', handler: handle(putWebhook) });
app.http('rotateWebhookSecret', { methods: ['POST'], route: 'webhooks/{subscriptionId}/rotateSecret', authLevel: 'anonymous', handler: handle(rotateWebhookSecret) });
app.http('deleteWebhook', { methods: ['DELETE'], route: 'webhooks/{subscriptionId}', authLevel: 'anonymous', handler: handle(deleteWebhook) });
