import type { Call } from './lib/api';
import { collection, json } from './lib/http';
import { PROVIDER_CASCADE } from './workflows/cascade/names';
import { operationUrl, startOperation } from './workflows/common';
import { endLifecycles } from './workflows/lifecycle/client';

export async function listProviders({ request, services, page }: Call<'listProviders'>) {
  return collection(request, await services.providers.list(page.top, page.skipToken), page.top);
}

export async function getProvider({ services, params }: Call<'getProvider'>) {
  const { resource, etag } = await services.providers.get(params.providerId);
  return json(200, resource, etag);
}

export async function putProvider({ services, params, body, ifMatch, createOnly }: Call<'putProvider'>) {
  const r = await services.providers.put(params.providerId, body, { ifMatch, createOnly });
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteProvider({ request, context, services, params, ifMatch }: Call<'deleteProvider'>) {
  const id = params.providerId;
  const r = await services.providers.delete(id, ifMatch, (connections) => endLifecycles(context, connections));
  if (r.outcome === 'absent') return { status: 204 };
  if (r.outcome === 'deleted') return { status: 200 };
  // Too many connections for one request: the cascade runs as an orchestration (202 + Location of its operation).
  const operationId = await startOperation(context, PROVIDER_CASCADE, `cascade:${id}`, { providerId: id });
  const location = operationUrl(request, operationId);
  return { status: 202, headers: { Location: location }, jsonBody: { id: operationId, status: 'Running', statusUrl: location } };
}
