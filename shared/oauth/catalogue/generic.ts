import type { ProviderTemplate } from '../template';
import { clientId, clientSecret, optionalClientSecret, param, scopes } from './parameters';

// Standards-based templates for servers credman has no preset for. Their behaviour is whatever
// the server does, so the refresh policy is the conservative one: a refresh token may be issued
// and may rotate, with no known idle limit.

const authorizationUrl = param('authorizationUrl', 'Authorization URL', 'url', 'The authorization endpoint.', { required: true });
const tokenUrl = param('tokenUrl', 'Token URL', 'url', 'The token endpoint.', { required: true });
const refreshUrl = param('refreshUrl', 'Refresh URL', 'url', 'The endpoint for refresh requests, when it differs from the token URL.');
const clientAuthentication = param(
  'clientAuthentication',
  'Client authentication',
  'string',
  'How credman proves the client at the token endpoint: "body" (client_id and client_secret form fields, the default) or "basic" (HTTP Basic, RFC 6749 §2.3.1).',
  { pattern: 'basic|body' },
);

export const GENERIC: ProviderTemplate[] = [
  {
    id: 'oauth2',
    displayName: 'Generic OAuth 2.0',
    documentationUrl: 'https://www.rfc-editor.org/rfc/rfc6749',
    grantTypes: {
      authorizationCode: { parameters: [clientId, clientSecret, authorizationUrl, tokenUrl, refreshUrl, scopes(), clientAuthentication] },
      clientCredentials: { parameters: [clientId, clientSecret, tokenUrl, scopes(), clientAuthentication] },
    },
    endpoints: { authorizationUrl: '{authorizationUrl}', tokenUrl: '{tokenUrl}', refreshUrl: '{refreshUrl}' },
    clientAuthentication: 'body',
    clientAuthenticationParameter: 'clientAuthentication',
    scopeSeparator: ' ',
    // PKCE for confidential clients too (RFC 9700 §2.1.1): it stops code injection across flows,
    // and a server without PKCE ignores the parameters it does not know (RFC 6749 §3.1).
    pkce: 'S256',
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    id: 'oauth2pkce',
    displayName: 'Generic OAuth 2.0 with PKCE',
    documentationUrl: 'https://www.rfc-editor.org/rfc/rfc7636',
    grantTypes: {
      authorizationCode: {
        parameters: [clientId, optionalClientSecret, authorizationUrl, tokenUrl, refreshUrl, scopes(), clientAuthentication],
      },
    },
    endpoints: { authorizationUrl: '{authorizationUrl}', tokenUrl: '{tokenUrl}', refreshUrl: '{refreshUrl}' },
    clientAuthentication: 'body',
    clientAuthenticationParameter: 'clientAuthentication',
    scopeSeparator: ' ',
    pkce: 'S256',
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
  },
  {
    // MCP-style servers: endpoints from RFC 8414 metadata, the client from RFC 7591 registration.
    id: 'oauth2.1-dcr',
    displayName: 'OAuth 2.1 with discovery and dynamic client registration',
    documentationUrl: 'https://www.rfc-editor.org/rfc/rfc7591',
    grantTypes: {
      authorizationCode: {
        parameters: [
          param(
            'serverUrl',
            'Server URL',
            'url',
            'The authorization server (its issuer URL), whose metadata (RFC 8414 / OpenID discovery) names the endpoints. A resource server names its authorization server in its RFC 9728 metadata.',
            {
              required: true,
            },
          ),
          scopes(),
        ],
      },
    },
    endpoints: { authorizationUrl: '{authorizationUrl}', tokenUrl: '{tokenUrl}' },
    clientAuthentication: 'body',
    scopeSeparator: ' ',
    pkce: 'S256',
    // OAuth 2.1 §4.3.1: refresh tokens of public clients are sender-constrained or rotated.
    refreshToken: { issued: true, rotates: true },
    tokenResponse: { format: 'json' },
    dynamicRegistration: true,
    derivedParameters: ['authorizationUrl', 'tokenUrl', 'clientId', 'clientSecret', 'issuer', 'registeredRedirectUrl', 'registrationClientUri'],
  },
];
