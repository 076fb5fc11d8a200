import { app, type HttpRequest } from '@azure/functions';
import { parseIdentifier } from '../shared/model/identifiers';
import { accessPolicyPutSchema } from '../shared/model/schemas';
import { collection, handle, ifMatch, json, paging, readJson } from './lib/http';
import { requireAdmin } from './lib/runtime';

const ids = (request: HttpRequest) => ({
  providerId: parseIdentifier(request.params.providerId, 'providerId'),
  connectionId: parseIdentifier(request.params.connectionId, 'connectionId'),
});
const policyId = (request: HttpRequest) => parseIdentifier(request.params.policyId, 'policyId');

export async function listAccessPolicies(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const { top, skipToken } = paging(request);
  return collection(request, await s.accessPolicies.list(providerId, connectionId, top, skipToken), top);
}

export async function getAccessPolicy(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const { resource, etag } = await s.accessPolicies.get(providerId, connectionId, policyId(request));
  return json(200, resource, etag);
}

export async function putAccessPolicy(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  const id = policyId(request);
  const body = await readJson(request, accessPolicyPutSchema);
  const r = await s.accessPolicies.put(providerId, connectionId, id, body, ifMatch(request));
  return json(r.created ? 201 : 200, r.resource, r.etag);
}

export async function deleteAccessPolicy(request: HttpRequest) {
  const s = await requireAdmin(request);
  const { providerId, connectionId } = ids(request);
  return { status: (await s.accessPolicies.delete(providerId, connectionId, policyId(request), ifMatch(request))) ? 200 : 204 };
}

const collectionRoute = 'providers/{providerId}/connections/{connectionId}/accessPolicies';
const route = `${collectionRoute}/{policyId}`;
app.http('listAccessPolicies', { methods: ['GET'], route: collectionRoute, authLevel: 'anonymous', handler: handle(listAccessPolicies) });
app.http('getAccessPolicy', { methods: ['GET'], route, authLevel: 'anonymous', handler: handle(getAccessPolicy) });
app.http('putAccessPolicy', { methods: ['PUT'], route, authLevel: 'anonymous', handler: handle(putAccessPolicy) });
app.http('deleteAccessPolicy', { methods: ['DELETE'], route, authLevel: 'anonymous', handler: handle(deleteAccessPolicy) });
