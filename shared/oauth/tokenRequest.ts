import { misconfigured, resolveEndpoints, splitScopes, substituteValues, withDefaults } from './endpoints';
import type { ClientAuthentication, GrantType, ProviderTemplate } from './template';

// Token endpoint requests for the three grants (RFC 6749 §4.1.3, §6, §4.4), as data: the HTTP
// module sends them. Client authentication per §2.3.1: `basic` puts the form-urlencoded id and
// secret in an Authorization header (and neither in the body); `body` sends both as form fields;
// a public client (no secret) sends its client_id alone.

export interface TokenRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ClientSecrets {
  clientSecret?: string;
}

export interface CodeExchange {
  code: string;
  redirectUri: string;
  codeVerifier?: string;
}

function authentication(template: ProviderTemplate, params: Record<string, string>): ClientAuthentication {
  const chosen = template.clientAuthenticationParameter ? params[template.clientAuthenticationParameter] : undefined;
  return chosen === 'basic' || chosen === 'body' ? chosen : template.clientAuthentication;
}

function build(
  template: ProviderTemplate,
  grant: GrantType,
  given: Record<string, string>,
  secrets: ClientSecrets,
  fields: [string, string][],
  opts: { refresh?: boolean; scopes?: boolean },
): TokenRequest {
  const params = withDefaults(template, given, grant);
  const endpoints = resolveEndpoints(template, params);
  const clientId = params.clientId;
  if (!clientId) throw misconfigured(`The provider has no value for 'clientId', which the token request needs.`);

  const body: [string, string][] = [...fields];
  const scopes = splitScopes(params.scopes);
  if (opts.scopes && scopes.length) body.push(['scope', scopes.join(template.scopeSeparator)]);
  body.push(...substituteValues(template, template.tokenParameters, params));

  const headers: Record<string, string> = { Accept: 'application/json' };
  const secret = secrets.clientSecret;
  if (!secret) {
    body.push(['client_id', clientId]);
  } else if (authentication(template, params) === 'basic') {
    const credentials = `${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`;
    headers.Authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  } else {
    body.push(['client_id', clientId], ['client_secret', secret]);
  }

  if (template.tokenRequestFormat === 'json') {
    headers['Content-Type'] = 'application/json';
    return { url: opts.refresh ? endpoints.refreshUrl : endpoints.tokenUrl, headers, body: JSON.stringify(Object.fromEntries(body)) };
  }
  headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return { url: opts.refresh ? endpoints.refreshUrl : endpoints.tokenUrl, headers, body: new URLSearchParams(body).toString() };
}

export function codeExchangeRequest(template: ProviderTemplate, params: Record<string, string>, secrets: ClientSecrets, exchange: CodeExchange): TokenRequest {
  const fields: [string, string][] = [
    ['grant_type', 'authorization_code'],
    ['code', exchange.code],
    ['redirect_uri', exchange.redirectUri],
  ];
  if (exchange.codeVerifier && template.pkce === 'S256') fields.push(['code_verifier', exchange.codeVerifier]);
  return build(template, 'authorizationCode', params, secrets, fields, { scopes: template.scopeInTokenRequests === true });
}

export function refreshRequest(template: ProviderTemplate, params: Record<string, string>, secrets: ClientSecrets, refreshToken: string): TokenRequest {
  const fields: [string, string][] = [
    ['grant_type', 'refresh_token'],
    ['refresh_token', refreshToken],
  ];
  return build(template, 'authorizationCode', params, secrets, fields, { refresh: true, scopes: template.scopeInTokenRequests === true });
}

export function clientCredentialsRequest(template: ProviderTemplate, params: Record<string, string>, secrets: ClientSecrets): TokenRequest {
  return build(template, 'clientCredentials', params, secrets, [['grant_type', 'client_credentials']], { scopes: true });
}
