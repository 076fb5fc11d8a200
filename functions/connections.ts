import { requesterOf } from '../shared/consent/people';
import { parseConnectionFilter } from '../shared/management/connectionFilter';
import { LifecycleService } from '../shared/lifecycle/lifecycleService';
import type { Call } from './lib/api';
import { collection, json, queryValue } from './lib/http';
import { lifecycleConnected, lifecycleDeleted } from './workflows/lifecycle/client';

export async function listConnections({ request, services, params, page }: Call<'listConnections'>) {
  const filter = parseConnectionFilter(queryValue(request, '$filter') ?? null);
  return collection(request, await services.connections.list(params.providerId, page.top, page.skipToken, filter), page.top);
}

export async function getConnection({ context, services, params }: Call<'getConnection'>) {
  const { resource, etag } = await services.connections.get(params.providerId, params.connectionId);
  // The outlook reads the sealed token state; when that fails (a key outage), the rest still answers.
  const lifecycle = await services.lifecycle.outlook(params.providerId, params.connectionId, resource.properties.createdOn).catch((err: unknown) => {
    context.warn(`lifecycle outlook of ${params.providerId}/${params.connectionId} unavailable: ${err instanceof Error ? err.name : 'error'}`);
    return undefined;
  });
  return json(200, lifecycle ? { ...resource, properties: { ...resource.properties, lifecycle } } : resource, etag);
}

export async function putConnection({ context, services, params, body, ifMatch, createOnly }: Call<'putConnection'>) {
  const { providerId, connectionId } = params;
  const r = await services.connections.put(providerId, connectionId, body, { ifMatch, createOnly });
  // A client-credentials connection has its first token now: its lifecycle starts (or wakes).
  if (r.resource.properties.status === 'Connected') {
    await lifecycleConnected(context, { providerId, connectionId, generation: LifecycleService.generationOf(r.resource.properties.createdOn) });
  }
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteConnection({ context, services, params, ifMatch }: Call<'deleteConnection'>) {
  const deleted = await services.connections.delete(params.providerId, params.connectionId, ifMatch);
  if (deleted) await lifecycleDeleted(context, deleted);
  return { status: deleted ? 200 : 204 };
}

/** No body (or no postLoginRedirectUrl) means an HTML page ends the flow. */
export async function getLoginLinks({ services, caller, params, body }: Call<'getLoginLinks'>) {
  return json(200, await services.consent.getLoginLink(params.providerId, params.connectionId, requesterOf(caller), body.postLoginRedirectUrl));
}

/** A connect-role caller that is no admin confirms only the connect sessions it created. */
export async function confirmConsentCode({ context, services, caller, params, body }: Call<'confirmConsentCode'>) {
  const { providerId, connectionId } = params;
  const sessionOwner = services.auth.isAdmin(caller) ? undefined : requesterOf(caller);
  await lifecycleConnected(context, await services.consent.confirmConsentCode(providerId, connectionId, body.consentCode, sessionOwner));
  const { resource, etag } = await services.connections.get(providerId, connectionId);
  return json(200, resource, etag);
}

export async function createConnectSession({ services, caller, body }: Call<'createConnectSession'>) {
  return json(200, await services.consent.createConnectSession(body, requesterOf(caller)));
}
