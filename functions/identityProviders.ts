import { identityProviderCatalogue } from '../shared/model/resources';
import type { Call } from './lib/api';
import { json } from './lib/http';

export async function listIdentityProviders(_: Call<'listIdentityProviders'>) {
  return json(200, { value: identityProviderCatalogue() });
}
