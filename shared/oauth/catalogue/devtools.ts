import type { ProviderTemplate } from '../template';
import { BASE_URL, clientId, clientSecret, DAY, optionalClientSecret, param, scopes } from './parameters';

// Developer tools: source hosting, issue tracking, design.

export const DEVTOOLS: ProviderTemplate[] = [
  {
    id: 'github',
    displayName: 'GitHub',
    apiBaseUrl: 'https://api.github.com',
    documentationUrl: 'https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes(undefined, 'OAuth app scopes, e.g. "repo read:user"; GitHub Apps ignore them.')] } },
    endpoints: { authorizationUrl: 'https://github.com/login/oauth/authorize', tokenUrl: 'https://github.com/login/oauth/access_token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // Supported (S256 only) since July 2025, not required.
    pkce: 'S256',
    // GitHub Apps with expiring user tokens: 8-hour access tokens, single-use refresh tokens that
    // live six months (refresh_token_expires_in 15897600). OAuth apps issue no refresh token.
    refreshToken: { issued: true, rotates: true, absoluteLifetimeSeconds: 15897600 },
    // Form-encoded unless asked for JSON; errors come as HTTP 200 with `error=`.
    tokenResponse: { format: 'form' },
  },
  {
    id: 'gitlab',
    displayName: 'GitLab',
    documentationUrl: 'https://docs.gitlab.com/api/oauth2/',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          optionalClientSecret,
          param('instanceUrl', 'Instance URL', 'url', 'The GitLab instance, e.g. https://gitlab.example.com for self-managed.', {
            default: 'https://gitlab.com',
            pattern: BASE_URL,
          }),
          scopes('read_user'),
        ],
      },
    },
    endpoints: { authorizationUrl: '{instanceUrl}/oauth/authorize', tokenUrl: '{instanceUrl}/oauth/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    // Access tokens last two hours; each refresh returns a new refresh token and revokes the old.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'bitbucket',
    displayName: 'Bitbucket Cloud',
    apiBaseUrl: 'https://api.bitbucket.org',
    documentationUrl: 'https://developer.atlassian.com/cloud/bitbucket/oauth-2/',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, scopes(undefined, 'Ignored by Bitbucket: scopes are set on the OAuth consumer.')] },
      clientCredentials: { parameters: [clientId, clientSecret, scopes()] },
    },
    endpoints: { authorizationUrl: 'https://bitbucket.org/site/oauth2/authorize', tokenUrl: 'https://bitbucket.org/site/oauth2/access_token' },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'none',
    // Two-hour access tokens; whether refresh tokens rotate is not documented: assumed so.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'atlassian',
    displayName: 'Atlassian (Jira, Confluence)',
    apiBaseUrl: 'https://api.atlassian.com',
    documentationUrl: 'https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('read:me offline_access')] } },
    endpoints: { authorizationUrl: 'https://auth.atlassian.com/authorize', tokenUrl: 'https://auth.atlassian.com/oauth/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    // PKCE is not documented for 3LO apps.
    pkce: 'none',
    authorizeParameters: { audience: 'api.atlassian.com', prompt: 'consent' },
    // Rotating refresh tokens: 90 days of inactivity, 365 days absolute, replay outside a
    // 10-minute leeway revokes the family.
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 90 * DAY, absoluteLifetimeSeconds: 365 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'linear',
    displayName: 'Linear',
    apiBaseUrl: 'https://api.linear.app',
    documentationUrl: 'https://linear.app/developers/oauth-2-0-authentication',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('read')] } },
    endpoints: { authorizationUrl: 'https://linear.app/oauth/authorize', tokenUrl: 'https://api.linear.app/oauth/token' },
    clientAuthentication: 'body',
    scopeSeparator: ',',
    pkce: 'none',
    // Refresh tokens are mandatory for apps created since October 2025; rotation assumed.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'figma',
    displayName: 'Figma',
    apiBaseUrl: 'https://api.figma.com',
    documentationUrl: 'https://developers.figma.com/docs/rest-api/oauth-apps/',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('file_content:read')] } },
    endpoints: {
      authorizationUrl: 'https://www.figma.com/oauth',
      tokenUrl: 'https://api.figma.com/v1/oauth/token',
      refreshUrl: 'https://api.figma.com/v1/oauth/refresh',
    },
    clientAuthentication: 'basic',
    scopeSeparator: ',',
    pkce: 'none',
    // The refresh endpoint returns an access token only: the refresh token is kept.
    refreshToken: { issued: true, rotates: false },
    tokenResponse: { format: 'json' },
  },
];
