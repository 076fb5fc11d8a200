import { randomBytes } from 'node:crypto';
import { CookieJar, completeConsent, type ConsentResult } from './consentDriver';
import { FaultProxy } from './faultProxy';
import { startIdp, type Idp, type IdpClient } from './idp';
import type { ApiResponse, TestHost } from './host';

// A credman host, the real identity provider (oidc-provider) and the fault proxy in front of its
// token endpoint, with the steps the OAuth tests repeat: register a client for the host's
// callback, create a provider from a template, consent through the login link.

export interface OAuthWorld {
  idp: Idp;
  proxy: FaultProxy;
  /** Secrets are random per run; clients are registered per host. */
  clientSecret: string;
  stop(): Promise<void>;
}

export async function startOAuthWorld(opts: { accessTokenTtl: number }): Promise<OAuthWorld> {
  const idp = await startIdp({ accessTokenTtl: opts.accessTokenTtl, scopes: ['api'], clients: [] });
  const proxy = await FaultProxy.start(idp.url);
  return {
    idp,
    proxy,
    clientSecret: randomBytes(24).toString('base64url'),
    async stop() {
      await proxy.close();
      await idp.stop();
    },
  };
}

export async function registerClient(
  world: OAuthWorld,
  hosts: TestHost[],
  clientId: string,
  auth: IdpClient['token_endpoint_auth_method'] = 'client_secret_basic',
): Promise<void> {
  await world.idp.addClient({
    client_id: clientId,
    client_secret: world.clientSecret,
    token_endpoint_auth_method: auth,
    redirect_uris: hosts.map((h) => `${h.baseUrl}/api/consent/callback`),
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    scope: 'openid offline_access api',
  });
}

/** A provider on the generic PKCE template, its token endpoint behind the fault proxy. */
export async function createProvider(
  host: TestHost,
  world: OAuthWorld,
  providerId: string,
  clientId: string,
  extra: { clientAuthentication?: 'basic' | 'body'; grants?: Array<'authorizationCode' | 'clientCredentials'> } = {},
): Promise<ApiResponse> {
  const common = {
    clientId,
    clientSecret: world.clientSecret,
    tokenUrl: `${world.proxy.url}/token`,
    scopes: 'openid offline_access api',
    clientAuthentication: extra.clientAuthentication ?? 'basic',
  };
  const grants = extra.grants ?? ['authorizationCode'];
  return host.request('PUT', `/providers/${providerId}`, {
    body: {
      properties: {
        identityProvider: 'oauth2',
        oauth2: {
          grantTypes: {
            ...(grants.includes('authorizationCode') ? { authorizationCode: { ...common, authorizationUrl: `${world.idp.url}/auth` } } : {}),
            ...(grants.includes('clientCredentials') ? { clientCredentials: { ...common, scopes: 'api' } } : {}),
          },
        },
      },
    },
  });
}

export async function createConnection(host: TestHost, providerId: string, connectionId: string, grant: 'AuthorizationCode' | 'ClientCredentials' = 'AuthorizationCode'): Promise<ApiResponse> {
  return host.request('PUT', `/providers/${providerId}/connections/${connectionId}`, {
    body: { properties: { authorizationType: 'OAuth2', oauth2grantType: grant } },
  });
}

export async function loginLink(host: TestHost, providerId: string, connectionId: string, postLoginRedirectUrl?: string): Promise<string> {
  const r = await host.request('POST', `/providers/${providerId}/connections/${connectionId}/getLoginLinks`, {
    body: postLoginRedirectUrl === undefined ? {} : { postLoginRedirectUrl },
  });
  if (r.status !== 200) throw new Error(`getLoginLinks ${r.status}: ${r.text}`);
  return r.body.loginLink as string;
}

/** Follows a login link through the identity provider's pages, stopping at the post-login redirect. */
export async function consent(
  host: TestHost,
  providerId: string,
  connectionId: string,
  opts: { login?: string; deny?: boolean; jar?: CookieJar } = {},
): Promise<ConsentResult> {
  const done = `${host.baseUrl}/done`;
  const link = await loginLink(host, providerId, connectionId, done);
  return completeConsent(link, {
    login: opts.login ?? 'alice',
    ...(opts.deny ? { deny: true } : {}),
    cookieJar: opts.jar ?? new CookieJar(),
    stopWhen: (u) => u.toString().startsWith(done),
  });
}

export function tokenOf(host: TestHost, providerId: string, connectionId: string, query = '', token?: string): Promise<ApiResponse> {
  return host.request('POST', `/providers/${providerId}/connections/${connectionId}/token${query}`, token === undefined ? {} : { token });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
