import type { Call } from './lib/api';
import { json } from './lib/http';
import { lifecycleConnected, lifecycleDeleted } from './workflows/lifecycle/client';

// Self-service: a signed-in person's own connections (shared/management/selfService.ts).

export async function listMyProviders({ services, caller }: Call<'listMyProviders'>) {
  return json(200, { value: await services.selfService.listProviders(caller) });
}

export async function listMyConnections({ services, caller }: Call<'listMyConnections'>) {
  return json(200, { value: await services.selfService.listConnections(caller) });
}

export async function getMyConnection({ services, caller, params }: Call<'getMyConnection'>) {
  const { resource, etag } = await services.selfService.get(caller, params.providerId);
  return json(200, resource, etag);
}

export async function putMyConnection({ services, caller, params, body }: Call<'putMyConnection'>) {
  const r = await services.selfService.put(caller, params.providerId, body.properties?.displayName);
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteMyConnection({ context, services, caller, params }: Call<'deleteMyConnection'>) {
  const deleted = await services.selfService.delete(caller, params.providerId);
  if (deleted) await lifecycleDeleted(context, deleted);
  return { status: deleted ? 200 : 204 };
}

export async function getMyLoginLinks({ services, caller, params, body }: Call<'getMyLoginLinks'>) {
  return json(200, await services.selfService.getLoginLink(caller, params.providerId, body.postLoginRedirectUrl));
}

export async function confirmMyConsentCode({ context, services, caller, params, body }: Call<'confirmMyConsentCode'>) {
  await lifecycleConnected(context, await services.selfService.confirmConsentCode(caller, params.providerId, body.consentCode));
  const { resource, etag } = await services.selfService.get(caller, params.providerId);
  return json(200, resource, etag);
}
