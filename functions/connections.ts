import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import { parseIdentifier } from '../shared/model/identifiers';
import { connectionPutSchema } from '../shared/model/schemas';
import { confirmConsentCodeSchema, loginLinksRequestSchema } from '../shared/model/runtimeSchemas';
import { collection, handle, ifMatch, json, paging, readJson } from './lib/http';
import { durableClientInput } from './workflows/common';
import { lifecycleConnected, lifecycleDeleted } from './workflows/lifecycle/client';
import { adminCaller, requireAdmin } from './lib/runtime';
import { requesterOf } from '../shared/consent/people';
import { LifecycleService } from '../shared/lifecycle/lifecycleService';

const ids = (request: HttpRequest) => ({
  providerId: parseIdentifier(request.params.providerId, 'providerId'),
  connectionId: parseIdentifier(request.params.connectionId, 'connectionId'),
});

export async function listConnections(request: HttpRequest) {
  const s = await requireAdmin(request);
  const providerId = parseIdentifier(request.params.providerId, 'providerId');
  const { top, skipToken } = paging(request);
  return collection(request, await s.connections.list(providerId, top, skipToken), top);
}

export async function getConnection(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const { resource, etag } = await s.connections.get(providerId, connectionId);
  return json(200, resource, etag);
}

export async function putConnection(request: HttpRequest, context: InvocationContext) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const body = await readJson(request, connectionPutSchema);
  const r = await s.connections.put(providerId, connectionId, body, ifMatch(request));
  // A client-credentials connection has its first token now: its lifecycle starts (or wakes).
  if (r.resource.properties.status === 'Connected') {
    await lifecycleConnected(context, { providerId, connectionId, generation: LifecycleService.generationOf(r.resource.properties.createdOn) });
  }
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteConnection(request: HttpRequest, context: InvocationContext) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const deleted = await s.connections.delete(providerId, connectionId, ifMatch(request));
  if (deleted) await lifecycleDeleted(context, deleted);
  return { status: deleted ? 200 : 204 };
}

export async function getLoginLinks(request: HttpRequest) {
  const { services: s, caller } = await adminCaller(request);
  const { providerId, connectionId } = ids(request);
  // The body is optional: no postLoginRedirectUrl means an HTML page ends the flow.
  const empty = !request.headers.get('content-type') && Number(request.headers.get('content-length') ?? '0') === 0;
  const body = empty ? {} : await readJson(request, loginLinksRequestSchema);
  return json(200, await s.consent.getLoginLink(providerId, connectionId, requesterOf(caller), body.postLoginRedirectUrl));
}

export async function confirmConsentCode(request: HttpRequest, context: InvocationContext) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const body = await readJson(request, confirmConsentCodeSchema);
  await lifecycleConnected(context, await s.consent.confirmConsentCode(providerId, connectionId, body.consentCode));
  const { resource, etag } = await s.connections.get(providerId, connectionId);
  return json(200, resource, etag);
}

const route = 'providers/{providerId}/connections/{connectionId}';
app.http('listConnections', { methods: ['GET'], route: 'providers/{providerId}/connections', authLevel: 'anonymous', handler: handle(listConnections) });
app.http('getConnection', { methods: ['GET'], route, authLevel: 'anonymous', handler: handle(getConnection) });
app.http('putConnection', { methods: ['PUT'], route, authLevel: 'anonymous', extraInputs: [durableClientInput], handler: handle(putConnection) });
app.http('deleteConnection', { methods: ['DELETE'], route, authLevel: 'anonymous', extraInputs: [durableClientInput], handler: handle(deleteConnection) });
app.http('getLoginLinks', { methods: ['POST'], route: `${route}/getLoginLinks`, authLevel: 'anonymous', handler: handle(getLoginLinks) });
app.http('confirmConsentCode', { methods: ['POST'], route: `${route}/confirmConsentCode`, authLevel: 'anonymous', extraInputs: [durableClientInput], handler: handle(confirmConsentCode) });
