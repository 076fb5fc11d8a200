import type { ProviderTemplate, RefreshTokenPolicy, TemplateParameter } from '../template';
import { clientId, clientSecret, DAY, HTTPS_ORIGIN, param, requiredScopes, scopes } from './parameters';

// Microsoft Entra ID. Refresh tokens: 90 days of inactivity for confidential web clients; each
// refresh returns a new one but the old one is not revoked (so they do not "rotate" in the
// family-revocation sense). https://learn.microsoft.com/entra/identity-platform/refresh-tokens

const tenantId = param('tenantId', 'Tenant ID', 'string', 'The Entra tenant (GUID or domain), or "common", "organizations", "consumers".', {
  default: 'common',
  pattern: '[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?',
});
const loginUrl = (fallback: string): TemplateParameter =>
  param('loginUrl', 'Login URL', 'url', 'The Entra login endpoint (another one for national clouds).', {
    default: fallback,
    pattern: HTTPS_ORIGIN,
  });

const entraRefresh: RefreshTokenPolicy = { issued: true, rotates: false, idleLifetimeSeconds: 90 * DAY };

const aadParameters = [
  clientId,
  clientSecret,
  param('resourceUri', 'Resource URI', 'url', 'The resource (audience) of the tokens, e.g. https://graph.microsoft.com.', { required: true }),
  tenantId,
  loginUrl('https://login.windows.net'),
  scopes(),
];

function v2(id: string, displayName: string, documentationUrl: string, codeScopes: TemplateParameter, appScopes: TemplateParameter): ProviderTemplate {
  const common = [clientId, clientSecret, tenantId, loginUrl('https://login.microsoftonline.com')];
  return {
    id,
    displayName,
    // Graph, the API most connections call; a provider for another resource sets its own.
    apiBaseUrl: 'https://graph.microsoft.com',
    documentationUrl,
    grantTypes: {
      authorizationCode: { parameters: [...common, codeScopes] },
      clientCredentials: { parameters: [...common, appScopes] },
    },
    endpoints: {
      authorizationUrl: '{loginUrl}/{tenantId}/oauth2/v2.0/authorize',
      tokenUrl: '{loginUrl}/{tenantId}/oauth2/v2.0/token',
    },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // The v2 refresh request documents `scope` as required.
    scopeInTokenRequests: true,
    pkce: 'S256',
    refreshToken: entraRefresh,
    tokenResponse: { format: 'json' },
  };
}

export const MICROSOFT: ProviderTemplate[] = [
  {
    id: 'aad',
    displayName: 'Microsoft Entra ID (v1, resource-based)',
    apiBaseUrl: 'https://graph.microsoft.com',
    documentationUrl: 'https://learn.microsoft.com/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code',
    grantTypes: { authorizationCode: { parameters: aadParameters }, clientCredentials: { parameters: aadParameters } },
    endpoints: {
      authorizationUrl: '{loginUrl}/{tenantId}/oauth2/authorize',
      tokenUrl: '{loginUrl}/{tenantId}/oauth2/token',
    },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    authorizeParameters: { resource: '{resourceUri}' },
    tokenParameters: { resource: '{resourceUri}' },
    refreshToken: entraRefresh,
    // v1 sends expires_in as a numeric string ("3599").
    tokenResponse: { format: 'json' },
  },
  v2(
    'aadv2',
    'Microsoft Entra ID (v2, scope-based)',
    'https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow',
    scopes('openid profile offline_access', 'Scopes to request; keep offline_access to receive a refresh token.'),
    requiredScopes('The resource\'s ".default" scope, e.g. api://my-api/.default.'),
  ),
  v2(
    'microsoft-graph',
    'Microsoft Graph',
    'https://learn.microsoft.com/graph/auth-v2-user',
    scopes('offline_access User.Read', 'Graph permissions to request; keep offline_access to receive a refresh token.'),
    scopes('https://graph.microsoft.com/.default', 'The application permissions: https://graph.microsoft.com/.default.'),
  ),
];
