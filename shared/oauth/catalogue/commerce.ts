import type { ProviderTemplate } from '../template';
import { clientId, clientSecret, DAY, LABEL, param, requiredScopes, scopes } from './parameters';

// Accounting, commerce and payments.

export const COMMERCE: ProviderTemplate[] = [
  {
    id: 'xero',
    displayName: 'Xero',
    apiBaseUrl: 'https://api.xero.com',
    documentationUrl: 'https://developer.xero.com/documentation/guides/oauth2/auth-flow',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, scopes('openid profile email offline_access', 'Scopes; keep offline_access for a refresh token, add e.g. accounting.transactions.')] },
      // Custom connections.
      clientCredentials: { parameters: [clientId, clientSecret, requiredScopes("The custom connection's scopes, e.g. accounting.transactions.")] },
    },
    endpoints: { authorizationUrl: 'https://login.xero.com/identity/connect/authorize', tokenUrl: 'https://identity.xero.com/connect/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'S256',
    // 30-minute access tokens; each refresh returns a new refresh token valid 60 days (the old
    // one keeps working for a 30-minute grace period).
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 60 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'intuit',
    displayName: 'Intuit QuickBooks',
    documentationUrl: 'https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('com.intuit.quickbooks.accounting')] } },
    endpoints: { authorizationUrl: 'https://appcenter.intuit.com/connect/oauth2', tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    // Not documented for web apps.
    pkce: 'none',
    // One-hour access tokens; the refresh token changes (always keep the latest), dies after
    // 100 days unused and at most five years after consent. x_refresh_token_expires_in tells.
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 100 * DAY, absoluteLifetimeSeconds: 5 * 365 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'shopify',
    displayName: 'Shopify (offline token)',
    documentationUrl: 'https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          clientSecret,
          param('shop', 'Shop', 'string', 'The shop\'s myshopify.com name: "example" for example.myshopify.com.', { required: true, pattern: LABEL }),
          scopes('read_products', 'Access scopes, e.g. "read_products,write_orders".'),
        ],
      },
    },
    endpoints: { authorizationUrl: 'https://{shop}.myshopify.com/admin/oauth/authorize', tokenUrl: 'https://{shop}.myshopify.com/admin/oauth/access_token' },
    clientAuthentication: 'body',
    scopeSeparator: ',',
    pkce: 'none',
    // Offline tokens do not expire; no refresh token. The token goes in X-Shopify-Access-Token.
    refreshToken: { issued: false, rotates: false },
    tokenResponse: { format: 'json' },
    // The Admin API lives under the shop's own host (its apiBaseUrl is the admin's to set) and takes the token in its own header.
    apiToken: { header: 'X-Shopify-Access-Token' },
  },
  {
    id: 'stripe',
    displayName: 'Stripe Connect',
    apiBaseUrl: 'https://api.stripe.com',
    documentationUrl: 'https://docs.stripe.com/connect/oauth-reference',
    grantTypes: {
      authorizationCode: {
        parameters: [
          { ...clientId, description: "The platform's Connect client ID (ca_…)." },
          { ...clientSecret, description: "The platform's secret API key (sk_…). Write-only." },
          param('scopes', 'Scope', 'scopes', '"read_write" or "read_only".', { default: 'read_write', pattern: 'read_write|read_only' }),
        ],
      },
    },
    endpoints: { authorizationUrl: 'https://connect.stripe.com/oauth/authorize', tokenUrl: 'https://connect.stripe.com/oauth/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'none',
    // The access token is a non-expiring secret key of the connected account; a refresh rolls it
    // and keeps the refresh token.
    refreshToken: { issued: true, rotates: false },
    tokenResponse: { format: 'json' },
  },
];
