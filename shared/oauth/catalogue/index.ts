import type { GrantType, ProviderTemplate, TemplateParameter } from '../template';
import { COLLABORATION } from './collaboration';
import { COMMERCE } from './commerce';
import { CRM } from './crm';
import { DEVTOOLS } from './devtools';
import { GENERIC } from './generic';
import { IDENTITY } from './identity';
import { loadCatalogue } from './loader';
import { MICROSOFT } from './microsoft';
import { clientSecretExpiresOn } from './parameters';
import { SOCIAL } from './social';

// The provider catalogue: one template per identity provider, as data, checked when loaded.

export type { GrantType, ParameterKind, ProviderTemplate, TemplateParameter } from '../template';
export { clientSecretExpiresOn };

export const CATALOGUE: readonly ProviderTemplate[] = loadCatalogue([
  ...GENERIC,
  ...MICROSOFT,
  ...IDENTITY,
  ...DEVTOOLS,
  ...COLLABORATION,
  ...CRM,
  ...COMMERCE,
  ...SOCIAL,
]);

const byId = new Map(CATALOGUE.map((t) => [t.id, t]));

export function findTemplate(id: string): ProviderTemplate | undefined {
  return byId.get(id);
}

/** The parameters an admin gives for one grant: the template's, plus `clientSecretExpiresOn`. */
export function templateParameters(template: ProviderTemplate, grant: GrantType): TemplateParameter[] | undefined {
  const g = template.grantTypes[grant];
  return g ? [...g.parameters, clientSecretExpiresOn] : undefined;
}
