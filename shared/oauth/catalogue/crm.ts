import type { ProviderTemplate } from '../template';
import { clientId, clientSecret, DAY, HTTPS_ORIGIN, LABEL, param, scopes } from './parameters';

// CRM, service desk and e-signature platforms, most of them hosted per customer or per region.

const instanceUrl = (description: string, fallback?: string) =>
  param('instanceUrl', 'Instance URL', 'url', description, {
    pattern: HTTPS_ORIGIN,
    ...(fallback === undefined ? { required: true } : { default: fallback }),
  });

export const CRM: ProviderTemplate[] = [
  {
    id: 'salesforce',
    displayName: 'Salesforce',
    documentationUrl: 'https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          clientSecret,
          instanceUrl('The login domain: https://login.salesforce.com, https://test.salesforce.com or your My Domain.', 'https://login.salesforce.com'),
          scopes('api refresh_token'),
        ],
      },
      clientCredentials: {
        parameters: [clientId, clientSecret, instanceUrl('Your My Domain URL, e.g. https://example.my.salesforce.com (required for this flow).'), scopes()],
      },
    },
    endpoints: { authorizationUrl: '{instanceUrl}/services/oauth2/authorize', tokenUrl: '{instanceUrl}/services/oauth2/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    // Refresh tokens are valid until revoked by default; rotation is an opt-in of the connected app.
    refreshToken: { issued: true, rotates: false },
    // The response has no expires_in (instance_url and issued_at instead); the session timeout is
    // org configuration, so assume its shortest setting, 15 minutes.
    tokenResponse: { format: 'json', defaultExpiresInSeconds: 900 },
    // Each org's API is on its own instance, which the token response names.
    apiBaseUrlClaim: 'instance_url',
  },
  {
    id: 'servicenow',
    displayName: 'ServiceNow',
    documentationUrl: 'https://www.servicenow.com/docs/csh?topicname=c_OAuthApplications.html&version=latest',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, instanceUrl('Your instance, e.g. https://example.service-now.com.'), scopes()] },
      clientCredentials: { parameters: [clientId, clientSecret, instanceUrl('Your instance, e.g. https://example.service-now.com.'), scopes()] },
    },
    endpoints: { authorizationUrl: '{instanceUrl}/oauth_auth.do', tokenUrl: '{instanceUrl}/oauth_token.do' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // Not documented for confidential web clients across releases.
    pkce: 'none',
    // Default refresh token lifespan: 100 days from issue, not renewed by refreshing.
    refreshToken: { issued: true, rotates: false, absoluteLifetimeSeconds: 100 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'zoho',
    displayName: 'Zoho',
    documentationUrl: 'https://www.zoho.com/accounts/protocol/oauth/web-apps/authorization.html',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          clientSecret,
          param('accountsUrl', 'Accounts URL', 'url', 'The accounts server of your data centre, e.g. https://accounts.zoho.eu.', {
            default: 'https://accounts.zoho.com',
            pattern: 'https://accounts\\.zoho(?:cloud)?\\.(?:com|eu|in|com\\.au|jp|com\\.cn|ca|sa|uk)',
          }),
          scopes('AaaServer.profile.READ', 'Comma- or space-separated scopes, e.g. ZohoCRM.modules.ALL.'),
        ],
      },
    },
    endpoints: { authorizationUrl: '{accountsUrl}/oauth/v2/auth', tokenUrl: '{accountsUrl}/oauth/v2/token' },
    clientAuthentication: 'body',
    scopeSeparator: ',',
    pkce: 'none',
    // A refresh token comes only with access_type=offline, and anew only on a fresh consent.
    authorizeParameters: { access_type: 'offline', prompt: 'consent' },
    // One-hour access tokens; refresh tokens do not expire or rotate.
    refreshToken: { issued: true, rotates: false },
    // Errors come as HTTP 200 { "error": "invalid_code" }: the `error` field decides.
    tokenResponse: { format: 'json' },
  },
  {
    id: 'hubspot',
    displayName: 'HubSpot',
    apiBaseUrl: 'https://api.hubapi.com',
    documentationUrl: 'https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('oauth')] } },
    endpoints: { authorizationUrl: 'https://app.hubspot.com/oauth/authorize', tokenUrl: 'https://api.hubapi.com/oauth/v3/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // The token endpoint documents code_verifier.
    pkce: 'S256',
    // 30-minute access tokens; the refresh token does not expire or rotate.
    refreshToken: { issued: true, rotates: false },
    // Errors: { status: "BAD_REFRESH_TOKEN", message, correlationId }.
    tokenResponse: {
      format: 'json',
      errorField: 'status',
      errorCodes: { BAD_REFRESH_TOKEN: 'invalid_grant', BAD_AUTH_CODE: 'invalid_grant', BAD_CLIENT_ID: 'invalid_client', BAD_CLIENT_SECRET: 'invalid_client' },
    },
  },
  {
    id: 'zendesk',
    displayName: 'Zendesk',
    documentationUrl: 'https://support.zendesk.com/hc/en-us/articles/4408845965210',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          clientSecret,
          param('subdomain', 'Subdomain', 'string', 'Your Zendesk subdomain: "example" for example.zendesk.com.', { required: true, pattern: LABEL }),
          scopes('read'),
        ],
      },
    },
    endpoints: { authorizationUrl: 'https://{subdomain}.zendesk.com/oauth/authorizations/new', tokenUrl: 'https://{subdomain}.zendesk.com/oauth/tokens' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // The token request takes the scope again.
    scopeInTokenRequests: true,
    pkce: 'S256',
    // Expiring access tokens with refresh tokens; rotation is not documented: assumed.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'docusign',
    displayName: 'Docusign eSignature',
    documentationUrl: 'https://developers.docusign.com/platform/auth/authcode/authcode-get-token/',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          clientSecret,
          param('accountServer', 'Account server', 'url', 'https://account.docusign.com, or https://account-d.docusign.com for the developer environment.', {
            default: 'https://account.docusign.com',
            pattern: 'https://account(?:-d)?\\.docusign\\.com',
          }),
          scopes('signature extended', 'Scopes; "extended" renews the refresh token on each use.'),
        ],
      },
    },
    endpoints: { authorizationUrl: '{accountServer}/oauth/auth', tokenUrl: '{accountServer}/oauth/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'S256',
    // Eight-hour access tokens; refresh tokens last 30 days, renewed on use with "extended".
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 30 * DAY },
    tokenResponse: { format: 'json' },
  },
];
