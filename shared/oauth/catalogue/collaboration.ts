import type { ProviderTemplate } from '../template';
import { clientId, clientSecret, DAY, scopes } from './parameters';

// Messaging, documents, files and meetings.

export const COLLABORATION: ProviderTemplate[] = [
  {
    id: 'slack',
    displayName: 'Slack (user token)',
    apiBaseUrl: 'https://slack.com/api',
    documentationUrl: 'https://docs.slack.dev/authentication/installing-with-oauth',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('users:read', 'User token scopes (user_scope), e.g. "channels:read chat:write".')] } },
    endpoints: { authorizationUrl: 'https://slack.com/oauth/v2/authorize', tokenUrl: 'https://slack.com/api/oauth.v2.access' },
    // Slack asks for HTTP Basic rather than form fields.
    clientAuthentication: 'basic',
    scopeSeparator: ',',
    scopeParameter: 'user_scope',
    pkce: 'S256',
    // Refresh tokens exist only with token rotation enabled: 12-hour access tokens, single-use refresh tokens.
    refreshToken: { issued: true, rotates: true },
    // The user token sits under authed_user; token_type is "user", used as a Bearer token.
    tokenResponse: { format: 'json', tokenPath: 'authed_user', okFlag: true, tokenType: 'Bearer' },
  },
  {
    id: 'notion',
    displayName: 'Notion',
    apiBaseUrl: 'https://api.notion.com',
    documentationUrl: 'https://developers.notion.com/docs/authorization',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret] } },
    endpoints: { authorizationUrl: 'https://api.notion.com/v1/oauth/authorize', tokenUrl: 'https://api.notion.com/v1/oauth/token' },
    clientAuthentication: 'basic',
    tokenRequestFormat: 'json',
    scopeSeparator: ' ',
    pkce: 'none',
    authorizeParameters: { owner: 'user' },
    // Access tokens have no expiry. Newer integrations also get a refresh token; rotation is not documented: assumed.
    refreshToken: { issued: true, rotates: true },
    // Errors are Notion API errors: { object: "error", code, message }.
    tokenResponse: { format: 'json', errorField: 'code' },
  },
  {
    id: 'asana',
    displayName: 'Asana',
    apiBaseUrl: 'https://app.asana.com/api/1.0',
    documentationUrl: 'https://developers.asana.com/docs/oauth',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('default')] } },
    endpoints: { authorizationUrl: 'https://app.asana.com/-/oauth_authorize', tokenUrl: 'https://app.asana.com/-/oauth_token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    // One-hour access tokens; the refresh token stays the same and does not expire.
    refreshToken: { issued: true, rotates: false },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'zoom',
    displayName: 'Zoom',
    apiBaseUrl: 'https://api.zoom.us/v2',
    documentationUrl: 'https://developers.zoom.us/docs/integrations/oauth/',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes(undefined, 'Usually set on the app in the Zoom Marketplace; leave empty.')] } },
    endpoints: { authorizationUrl: 'https://zoom.us/oauth/authorize', tokenUrl: 'https://zoom.us/oauth/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ',',
    pkce: 'S256',
    // Each refresh returns a new refresh token and invalidates the old; about 90 days unused.
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 90 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'dropbox',
    displayName: 'Dropbox',
    apiBaseUrl: 'https://api.dropboxapi.com',
    documentationUrl: 'https://developers.dropbox.com/oauth-guide',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes(undefined, 'Scoped-app scopes, e.g. "files.content.read"; empty for all the app has.')] } },
    endpoints: { authorizationUrl: 'https://www.dropbox.com/oauth2/authorize', tokenUrl: 'https://api.dropboxapi.com/oauth2/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    // token_access_type=offline is what yields a (long-lived, non-rotating) refresh token.
    authorizeParameters: { token_access_type: 'offline' },
    refreshToken: { issued: true, rotates: false },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'box',
    displayName: 'Box',
    apiBaseUrl: 'https://api.box.com',
    documentationUrl: 'https://developer.box.com/guides/authentication/oauth2/',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes(undefined, 'Optional: narrows the scopes set on the app.')] } },
    endpoints: { authorizationUrl: 'https://account.box.com/api/oauth2/authorize', tokenUrl: 'https://api.box.com/oauth2/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'none',
    // A refresh token works once and within 60 days; each refresh returns a new one.
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 60 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'calendly',
    displayName: 'Calendly',
    apiBaseUrl: 'https://api.calendly.com',
    documentationUrl: 'https://developer.calendly.com/how-to-access-calendly-data-on-behalf-of-authenticated-users',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes()] } },
    endpoints: { authorizationUrl: 'https://auth.calendly.com/oauth/authorize', tokenUrl: 'https://auth.calendly.com/oauth/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'S256',
    // Two-hour access tokens; refresh tokens are single use.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'discord',
    displayName: 'Discord',
    apiBaseUrl: 'https://discord.com/api',
    documentationUrl: 'https://discord.com/developers/docs/topics/oauth2',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, scopes('identify')] },
      clientCredentials: { parameters: [clientId, clientSecret, scopes('identify')] },
    },
    endpoints: { authorizationUrl: 'https://discord.com/oauth2/authorize', tokenUrl: 'https://discord.com/api/oauth2/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'none',
    // Seven-day access tokens; whether the old refresh token survives a refresh is not documented: assumed not.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
];
