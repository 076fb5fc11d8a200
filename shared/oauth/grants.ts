import { ConnectionStateError } from '../errors';
import type { ProviderRecord } from '../store/providers';
import { findTemplate } from './catalogue';
import type { GrantType, ProviderTemplate } from './template';

// What one grant of one provider needs at run time: its template, its parameters (defaults
// applied when it was saved) and its client secret. Client-credentials connections may override
// the provider's parameters with their own.

export interface GrantConfig {
  template: ProviderTemplate;
  params: Record<string, string>;
  secrets: { clientSecret?: string };
}

export function grantConfig(
  provider: { record: ProviderRecord; secrets: Record<string, string> },
  grant: GrantType,
  connection?: { parameters: Record<string, string>; secretParameters: Record<string, string> },
): GrantConfig {
  const template = findTemplate(provider.record.identityProvider);
  const params = provider.record.grantTypes[grant];
  if (!template || !params) {
    throw new ConnectionStateError('ProviderMisconfigured', `Provider '${provider.record.id}' is not configured for the ${grant} grant.`);
  }
  const clientSecret = connection?.secretParameters.clientSecret ?? provider.secrets[`${grant}.clientSecret`];
  return {
    template,
    params: { ...params, ...(connection?.parameters ?? {}) },
    secrets: clientSecret === undefined ? {} : { clientSecret },
  };
}
