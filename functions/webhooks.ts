import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { Call } from './lib/api';
import { collection, json } from './lib/http';

/** The subscription's absolute URL, on the host the request came to (as nextLink and operation URLs are). */
const subscriptionUrl = (request: HttpRequest, id: string) => new URL(`/api/webhooks/${encodeURIComponent(id)}`, request.url).toString();

const created = (request: HttpRequest, id: string, resource: unknown, etag: string): HttpResponseInit => {
  const res = json(201, resource, etag);
  return { ...res, headers: { ...(res.headers as Record<string, string>), Location: subscriptionUrl(request, id) } };
};

export async function listWebhooks({ request, services, page }: Call<'listWebhooks'>) {
  return collection(request, await services.webhooks.list(page.top, page.skipToken), page.top);
}

export async function getWebhook({ services, params }: Call<'getWebhook'>) {
  const { resource, etag } = await services.webhooks.get(params.subscriptionId);
  return json(200, resource, etag);
}

export async function putWebhook({ request, services, params, body, ifMatch, createOnly }: Call<'putWebhook'>) {
  const id = params.subscriptionId;
  const r = await services.webhooks.put(id, body, { ifMatch, createOnly });
  return r.created ? created(request, id, r.resource, r.etag) : json(200, r.resource, r.etag);
}

/** POST /webhooks: the server names the subscription; Location says where it is (Logic Apps deletes it there). */
export async function createWebhook({ request, services, body }: Call<'createWebhook'>) {
  const r = await services.webhooks.create(body);
  return created(request, r.id, r.resource, r.etag);
}

/** POST /webhooks/{id}/rotateSecret: a new secret, shown once; the old one signs beside it for a while. */
export async function rotateWebhookSecret({ services, params, body, ifMatch }: Call<'rotateWebhookSecret'>) {
  const r = await services.webhooks.rotateSecret(params.subscriptionId, body, ifMatch);
  return json(200, r.resource, r.etag);
}

export async function deleteWebhook({ services, params, ifMatch }: Call<'deleteWebhook'>) {
  return { status: (await services.webhooks.delete(params.subscriptionId, ifMatch)) ? 200 : 204 };
}
