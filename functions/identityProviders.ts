import { app, type HttpRequest } from '@azure/functions';
import { identityProviderCatalogue } from '../shared/model/resources';
import { handle, json } from './lib/http';
import { requireAdmin } from './lib/runtime';

export async function listIdentityProviders(request: HttpRequest) {
  await requireAdmin(request);
  return json(200, { value: identityProviderCatalogue() });
}

app.http('listIdentityProviders', { methods: ['GET'], route: 'identityProviders', authLevel: 'anonymous', handler: handle(listIdentityProviders) });
