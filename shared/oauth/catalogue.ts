// The provider catalogue: one template per identity provider, as data. The OAuth engine grows
// it; management only needs each template's grant types and parameters to validate providers.

export type GrantType = 'authorizationCode' | 'clientCredentials';
export type ParameterKind = 'string' | 'url' | 'scopes' | 'date';

export interface TemplateParameter {
  name: string;
  displayName: string;
  kind: ParameterKind;
  required: boolean;
  secret: boolean;
  default?: string;
  description: string;
}

export interface ProviderTemplate {
  id: string;
  displayName: string;
  grantTypes: Partial<Record<GrantType, { parameters: TemplateParameter[] }>>;
}

const p = (
  name: string,
  displayName: string,
  kind: ParameterKind,
  description: string,
  opts: { required?: boolean; secret?: boolean; default?: string } = {},
): TemplateParameter => ({
  name,
  displayName,
  kind,
  description,
  required: opts.required ?? false,
  secret: opts.secret ?? false,
  ...(opts.default === undefined ? {} : { default: opts.default }),
});

const clientId = p('clientId', 'Client ID', 'string', 'The OAuth client identifier registered at the identity provider.', { required: true });
const clientSecret = p('clientSecret', 'Client secret', 'string', 'The OAuth client secret. Write-only.', { required: true, secret: true });
const scopes = p('scopes', 'Scopes', 'scopes', 'Space-separated scopes to request.');
const authorizationUrl = p('authorizationUrl', 'Authorization URL', 'url', 'The authorization endpoint.', { required: true });
const tokenUrl = p('tokenUrl', 'Token URL', 'url', 'The token endpoint.', { required: true });
const refreshUrl = p('refreshUrl', 'Refresh URL', 'url', 'The endpoint for refresh requests, when it differs from the token URL.');
/** Any template accepts it, so that credman can warn before the secret ends. */
export const clientSecretExpiresOn = p('clientSecretExpiresOn', 'Client secret expires on', 'date', 'ISO 8601 date on which the client secret ends.');

const aadParameters = [
  clientId,
  clientSecret,
  p('resourceUri', 'Resource URI', 'url', 'The resource (audience) of the tokens, e.g. https://graph.microsoft.com.', { required: true }),
  p('tenantId', 'Tenant ID', 'string', 'The Entra tenant, or "common".', { default: 'common' }),
  p('loginUrl', 'Login URL', 'url', 'The Entra login endpoint.', { default: 'https://login.windows.net' }),
  scopes,
];

export const CATALOGUE: readonly ProviderTemplate[] = [
  {
    id: 'oauth2',
    displayName: 'Generic OAuth 2.0',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, authorizationUrl, tokenUrl, refreshUrl, scopes] },
      clientCredentials: { parameters: [clientId, clientSecret, tokenUrl, scopes] },
    },
  },
  {
    id: 'oauth2pkce',
    displayName: 'Generic OAuth 2.0 with PKCE',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          { ...clientSecret, required: false, description: 'The client secret, for confidential clients. Write-only.' },
          authorizationUrl,
          tokenUrl,
          refreshUrl,
          scopes,
        ],
      },
    },
  },
  {
    id: 'aad',
    displayName: 'Microsoft Entra ID (v1, resource-based)',
    grantTypes: { authorizationCode: { parameters: aadParameters }, clientCredentials: { parameters: aadParameters } },
  },
];

const byId = new Map(CATALOGUE.map((t) => [t.id, t]));

export function findTemplate(id: string): ProviderTemplate | undefined {
  return byId.get(id);
}

export function templateParameters(template: ProviderTemplate, grant: GrantType): TemplateParameter[] | undefined {
  const g = template.grantTypes[grant];
  return g ? [...g.parameters, clientSecretExpiresOn] : undefined;
}
