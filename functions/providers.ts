import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import { parseIdentifier } from '../shared/model/identifiers';
import { providerPutSchema } from '../shared/model/schemas';
import { collection, handle, ifMatch, json, paging, readJson } from './lib/http';
import { durableClientInput, operationUrl, startOperation } from './workflows/common';
import { endLifecycles } from './workflows/lifecycle/client';
import { requireAdmin } from './lib/runtime';

const providerId = (request: HttpRequest) => parseIdentifier(request.params.providerId, 'providerId');

export async function listProviders(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { top, skipToken } = paging(request);
  return collection(request, await s.providers.list(top, skipToken), top);
}

export async function getProvider(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { resource, etag } = await s.providers.get(providerId(request));
  return json(200, resource, etag);
}

export async function putProvider(request: HttpRequest) {
  const s = await requireAdmin(request);
  const id = providerId(request);
  const body = await readJson(request, providerPutSchema);
  const r = await s.providers.put(id, body, ifMatch(request));
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteProvider(request: HttpRequest, context: InvocationContext) {
  const s = await requireAdmin(request);
  const id = providerId(request);
  const r = await s.providers.delete(id, ifMatch(request), (connections) => endLifecycles(context, connections));
  if (r.outcome === 'absent') return { status: 204 };
  if (r.outcome === 'deleted') return { status: 200 };
  // Too many connections for one request: the cascade runs as an orchestration (202 + Location of its operation).
  const operationId = await startOperation(context, 'providerCascade', `cascade:${id}`, { providerId: id });
  const location = operationUrl(request, operationId);
  return { status: 202, headers: { Location: location }, jsonBody: { id: operationId, status: 'Running', statusUrl: location } };
}

app.http('listProviders', { methods: ['GET'], route: 'providers', authLevel: 'anonymous', handler: handle(listProviders) });
app.http('getProvider', { methods: ['GET'], route: 'providers/{providerId}', authLevel: 'anonymous', handler: handle(getProvider) });
app.http('putProvider', { methods: ['PUT'], route: 'providers/{providerId}', authLevel: 'anonymous', handler: handle(putProvider) });
app.http('deleteProvider', { methods: ['DELETE'], route: 'providers/{providerId}', authLevel: 'anonymous', extraInputs: [durableClientInput], handler: handle(deleteProvider) });
