import type { GrantType, ProviderTemplate, TemplateParameter } from '../template';
import { clientSecretExpiresOn } from './parameters';

// The provider catalogue: one template per identity provider, as data (./templates), checked by
// zod and cross-checks when loaded. That is ~30 ms that serving a token from storage does not need,
// so it happens on first use (registering a provider, a consent, a refresh), not at start; a broken
// template fails that first use with an error naming it, and the catalogue's tests.

export type { GrantType, ParameterKind, ProviderTemplate, TemplateParameter } from '../template';
export { clientSecretExpiresOn };

let loaded: { list: readonly ProviderTemplate[]; byId: Map<string, ProviderTemplate> } | undefined;

function load() {
  return (loaded ??= (() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- on first use, not at start
    const list = (require('./templates') as typeof import('./templates')).CATALOGUE;
    return { list, byId: new Map(list.map((t) => [t.id, t])) };
  })());
}

/** Every template, in catalogue order. */
export function catalogue(): readonly ProviderTemplate[] {
  return load().list;
}

export function findTemplate(id: string): ProviderTemplate | undefined {
  return load().byId.get(id);
}

/** The parameters an admin gives for one grant: the template's, plus `clientSecretExpiresOn`. */
export function templateParameters(template: ProviderTemplate, grant: GrantType): TemplateParameter[] | undefined {
  const g = template.grantTypes[grant];
  return g ? [...g.parameters, clientSecretExpiresOn] : undefined;
}
