import type { Call } from './lib/api';
import { collection, json } from './lib/http';

export async function listAccessPolicies({ request, services, params, page }: Call<'listAccessPolicies'>) {
  return collection(request, await services.accessPolicies.list(params.providerId, params.connectionId, page.top, page.skipToken), page.top);
}

export async function getAccessPolicy({ services, params }: Call<'getAccessPolicy'>) {
  const { resource, etag } = await services.accessPolicies.get(params.providerId, params.connectionId, params.policyId);
  return json(200, resource, etag);
}

export async function putAccessPolicy({ services, params, body, ifMatch, createOnly }: Call<'putAccessPolicy'>) {
  const r = await services.accessPolicies.put(params.providerId, params.connectionId, params.policyId, body, { ifMatch, createOnly });
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteAccessPolicy({ services, params, ifMatch }: Call<'deleteAccessPolicy'>) {
  return { status: (await services.accessPolicies.delete(params.providerId, params.connectionId, params.policyId, ifMatch)) ? 200 : 204 };
}
