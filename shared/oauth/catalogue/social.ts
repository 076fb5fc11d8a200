import type { ProviderTemplate } from '../template';
import { clientId, clientSecret, DAY, optionalClientSecret, scopes } from './parameters';

// Social networks and media.

export const SOCIAL: ProviderTemplate[] = [
  {
    id: 'linkedin',
    displayName: 'LinkedIn',
    apiBaseUrl: 'https://api.linkedin.com',
    documentationUrl: 'https://learn.microsoft.com/linkedin/shared/authentication/authorization-code-flow',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('openid profile email')] } },
    endpoints: { authorizationUrl: 'https://www.linkedin.com/oauth/v2/authorization', tokenUrl: 'https://www.linkedin.com/oauth/v2/accessToken' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // PKCE is documented for native clients only.
    pkce: 'none',
    // 60-day access tokens. Refresh tokens only for approved partners: a refresh returns the same
    // refresh token, which ends 365 days after consent.
    refreshToken: { issued: true, rotates: false, absoluteLifetimeSeconds: 365 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'x',
    displayName: 'X (Twitter)',
    apiBaseUrl: 'https://api.x.com',
    documentationUrl: 'https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code',
    grantTypes: { authorizationCode: { parameters: [clientId, optionalClientSecret, scopes('tweet.read users.read offline.access')] } },
    endpoints: { authorizationUrl: 'https://x.com/i/oauth2/authorize', tokenUrl: 'https://api.x.com/2/oauth2/token' },
    // Confidential clients authenticate with HTTP Basic.
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    // Required.
    pkce: 'S256',
    // Two-hour access tokens; a refresh token only with offline.access. Rotation assumed.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'reddit',
    displayName: 'Reddit',
    apiBaseUrl: 'https://oauth.reddit.com',
    documentationUrl: 'https://github.com/reddit-archive/reddit/wiki/OAuth2',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, scopes('identity read')] },
      clientCredentials: { parameters: [clientId, clientSecret, scopes('read')] },
    },
    endpoints: { authorizationUrl: 'https://www.reddit.com/api/v1/authorize', tokenUrl: 'https://www.reddit.com/api/v1/access_token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'none',
    // duration=permanent is what yields a refresh token.
    authorizeParameters: { duration: 'permanent' },
    // Whether a refresh returns a new refresh token is not documented: assumed rotating.
    refreshToken: { issued: true, rotates: true },
    // Errors may come as HTTP 200 { "error": ... }: the `error` field decides.
    tokenResponse: { format: 'json' },
  },
  {
    id: 'pinterest',
    displayName: 'Pinterest',
    apiBaseUrl: 'https://api.pinterest.com',
    documentationUrl: 'https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('user_accounts:read boards:read pins:read')] } },
    endpoints: { authorizationUrl: 'https://www.pinterest.com/oauth/', tokenUrl: 'https://api.pinterest.com/v5/oauth/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ',',
    pkce: 'none',
    // 30-day access tokens; refresh_token_expires_in in the response (a year). Continuous refresh
    // (becoming the default) returns a new refresh token on each refresh.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'spotify',
    displayName: 'Spotify',
    apiBaseUrl: 'https://api.spotify.com',
    documentationUrl: 'https://developer.spotify.com/documentation/web-api/tutorials/code-flow',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, scopes('user-read-email')] },
      clientCredentials: { parameters: [clientId, clientSecret] },
    },
    endpoints: { authorizationUrl: 'https://accounts.spotify.com/authorize', tokenUrl: 'https://accounts.spotify.com/api/token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'S256',
    // One-hour access tokens; a refresh may return a new refresh token: assumed rotating.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
];
