import type { ProviderTemplate } from '../template';
import { BASE_URL, clientId, clientSecret, DAY, HOSTNAME, optionalClientSecret, param, requiredScopes, scopes } from './parameters';

// Identity platforms: Google and the OpenID Connect servers organisations run (Okta, Auth0,
// Keycloak). For the latter, refresh behaviour is tenant configuration; the values below are the
// documented defaults, or the conservative choice where none is documented.

const domain = (example: string) =>
  param('domain', 'Domain', 'string', `The tenant's host name, e.g. ${example} (a custom domain works too).`, {
    required: true,
    pattern: HOSTNAME,
  });

const authorizationServerId = param('authorizationServerId', 'Authorization server ID', 'string', 'The custom authorization server, e.g. "default".', {
  default: 'default',
  pattern: '[A-Za-z0-9]{1,64}',
});
const audience = param('audience', 'Audience', 'string', 'The API identifier the tokens are for, e.g. https://api.example.com.', { required: true });
const realm = param('realm', 'Realm', 'string', 'The realm name.', { required: true, pattern: '[A-Za-z0-9._-]{1,255}' });

export const IDENTITY: ProviderTemplate[] = [
  {
    id: 'google',
    displayName: 'Google',
    apiBaseUrl: 'https://www.googleapis.com',
    documentationUrl: 'https://developers.google.com/identity/protocols/oauth2/web-server',
    grantTypes: { authorizationCode: { parameters: [clientId, clientSecret, scopes('openid email')] } },
    endpoints: { authorizationUrl: 'https://accounts.google.com/o/oauth2/v2/auth', tokenUrl: 'https://oauth2.googleapis.com/token' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    // offline + consent: Google returns a refresh token only on a consent that asks for it.
    authorizeParameters: { access_type: 'offline', prompt: 'consent' },
    // Unused for six months the refresh token dies (seven days for apps in "Testing").
    refreshToken: { issued: true, rotates: false, idleLifetimeSeconds: 180 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'okta',
    displayName: 'Okta',
    documentationUrl: 'https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/',
    grantTypes: {
      authorizationCode: {
        parameters: [clientId, optionalClientSecret, domain('example.okta.com'), authorizationServerId, scopes('openid offline_access')],
      },
      clientCredentials: {
        parameters: [clientId, clientSecret, domain('example.okta.com'), authorizationServerId, requiredScopes('Custom scopes of the authorization server.')],
      },
    },
    endpoints: {
      authorizationUrl: 'https://{domain}/oauth2/{authorizationServerId}/v1/authorize',
      tokenUrl: 'https://{domain}/oauth2/{authorizationServerId}/v1/token',
    },
    // client_secret_basic is Okta's default token endpoint authentication for web apps.
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'S256',
    // The default access policy rule: refresh tokens expire if unused for 7 days. Rotation is
    // per app; assumed on.
    refreshToken: { issued: true, rotates: true, idleLifetimeSeconds: 7 * DAY },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'auth0',
    displayName: 'Auth0',
    documentationUrl: 'https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow',
    grantTypes: {
      authorizationCode: {
        parameters: [clientId, clientSecret, domain('example.us.auth0.com'), audience, scopes('openid offline_access')],
      },
      clientCredentials: {
        parameters: [clientId, clientSecret, domain('example.us.auth0.com'), audience, scopes()],
      },
    },
    endpoints: { authorizationUrl: 'https://{domain}/authorize', tokenUrl: 'https://{domain}/oauth/token' },
    // client_secret_post is the default for regular web applications.
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    authorizeParameters: { audience: '{audience}' },
    // Required on client credentials; the other grants accept it for the same API.
    tokenParameters: { audience: '{audience}' },
    // Rotation and lifetimes are tenant settings; assumed rotating, lifetimes unknown.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'keycloak',
    displayName: 'Keycloak',
    documentationUrl: 'https://www.keycloak.org/docs/latest/securing_apps/#_oidc',
    grantTypes: {
      authorizationCode: {
        parameters: [
          clientId,
          optionalClientSecret,
          param('serverUrl', 'Server URL', 'url', 'The Keycloak base URL, e.g. https://sso.example.com (with /auth for versions before 17).', {
            required: true,
            pattern: BASE_URL,
          }),
          realm,
          scopes('openid offline_access', 'Scopes to request; offline_access gives refresh tokens that outlive the SSO session.'),
        ],
      },
      clientCredentials: {
        parameters: [clientId, clientSecret, param('serverUrl', 'Server URL', 'url', 'The Keycloak base URL, e.g. https://sso.example.com.', { required: true, pattern: BASE_URL }), realm, scopes()],
      },
    },
    endpoints: {
      authorizationUrl: '{serverUrl}/realms/{realm}/protocol/openid-connect/auth',
      tokenUrl: '{serverUrl}/realms/{realm}/protocol/openid-connect/token',
    },
    clientAuthentication: 'basic',
    scopeSeparator: ' ',
    pkce: 'S256',
    // "Revoke Refresh Token" is off by default; offline sessions idle out after 30 days. The
    // response's refresh_expires_in gives the real value.
    refreshToken: { issued: true, rotates: false, idleLifetimeSeconds: 30 * DAY },
    tokenResponse: { format: 'json' },
  },
];
