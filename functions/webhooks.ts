import { app, type HttpRequest } from '@azure/functions';
import { parseIdentifier } from '../shared/model/identifiers';
import { webhookPutSchema } from '../shared/model/webhookSchemas';
import { collection, handle, ifMatch, json, paging, readJson } from './lib/http';
import { requireAdmin } from './lib/runtime';

const subscriptionId = (request: HttpRequest) => parseIdentifier(request.params.subscriptionId, 'subscriptionId');

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
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteWebhook(request: HttpRequest) {
  const s = await requireAdmin(request);
  return { status: (await s.webhooks.delete(subscriptionId(request), ifMatch(request))) ? 200 : 204 };
}

app.http('listWebhooks', { methods: ['GET'], route: 'webhooks', authLevel: 'anonymous', handler: handle(listWebhooks) });
app.http('getWebhook', { methods: ['GET'], route: 'webhooks/{subscriptionId}', authLevel: 'anonymous', handler: handle(getWebhook) });
app.http('putWebhook', { methods: ['PUT'], route: 'webhooks/{subscriptionId}', authLevel: 'anonymous', handler: handle(putWebhook) });
app.http('deleteWebhook', { methods: ['DELETE'], route: 'webhooks/{subscriptionId}', authLevel: 'anonymous', handler: handle(deleteWebhook) });
