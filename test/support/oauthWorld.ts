import { randomBytes } from 'node:crypto';
import { CookieJar, completeConsent, parseForms, submitForm, type ConsentResult } from './consentDriver';
import { FaultProxy } from './faultProxy';
import { startIdp, type Idp, type IdpClient } from './idp';
import type { ApiResponse, TestHost } from './host';
import type { SelfService } from '../../shared/model/schemas';

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

export async function registerClient(world: OAuthWorld, hosts: TestHost[], clientId: string, auth: IdpClient['token_endpoint_auth_method'] = 'client_secret_basic'): Promise<void> {
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
  extra: { clientAuthentication?: 'basic' | 'body'; grants?: Array<'authorizationCode' | 'clientCredentials'>; selfService?: SelfService; apiBaseUrl?: string } = {},
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
        ...(extra.selfService ? { selfService: extra.selfService } : {}),
        ...(extra.apiBaseUrl ? { apiBaseUrl: extra.apiBaseUrl } : {}),
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

/** How a consent driven by `consent()` ended. */
export interface ConsentEnd {
  status: 'success' | 'error';
  /** The error code (from the redirect, the page or confirmConsentCode). */
  code?: string;
  /** The last response of the browser part (the post-login redirect or credman's page). */
  end: ConsentResult;
}

/**
 * Follows a login link through the identity provider's pages and then confirms, as a person or
 * an app must (a consent never commits by itself): `app` (the default) gives the link a
 * postLoginRedirectUrl and confirms the consent code with `confirmConsentCode`; `page` ends on
 * credman's anti-phishing page and presses "Connect my account" in the same browser.
 */
export async function consent(host: TestHost, providerId: string, connectionId: string, opts: { login?: string; deny?: boolean; jar?: CookieJar; confirm?: 'app' | 'page' } = {}): Promise<ConsentEnd> {
  const jar = opts.jar ?? new CookieJar();
  const common = { login: opts.login ?? 'alice', ...(opts.deny ? { deny: true } : {}), cookieJar: jar };
  if (opts.confirm === 'page') {
    const end = await completeConsent(await loginLink(host, providerId, connectionId), common);
    const failed = /Code: ([\w]+)/.exec(end.body);
    if (failed || !parseForms(end.body, end.url).length) return { status: 'error', code: failed?.[1] ?? `HTTP ${end.status}`, end };
    const confirmed = await submitForm(end.body, end.url, jar, { decision: 'confirm' });
    const body = await confirmed.text();
    return confirmed.status === 200 && body.includes('is ready') ? { status: 'success', end } : { status: 'error', code: /Code: ([\w]+)/.exec(body)?.[1] ?? `HTTP ${confirmed.status}`, end };
  }
  const done = `${host.baseUrl}/done`;
  const end = await completeConsent(await loginLink(host, providerId, connectionId, done), { ...common, stopWhen: (u) => u.toString().startsWith(done) });
  const q = end.url.searchParams;
  if (q.get('status') !== 'confirmationRequired') return { status: 'error', code: q.get('code') ?? `status=${q.get('status')}`, end };
  const r = await host.request('POST', `/providers/${providerId}/connections/${connectionId}/confirmConsentCode`, { body: { consentCode: q.get('consentCode') } });
  return r.status === 200 ? { status: 'success', end } : { status: 'error', code: r.body?.error?.code ?? `HTTP ${r.status}`, end };
}

export function tokenOf(host: TestHost, providerId: string, connectionId: string, query = '', token?: string): Promise<ApiResponse> {
  return host.request('POST', `/providers/${providerId}/connections/${connectionId}/token${query}`, token === undefined ? {} : { token });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
