import type { AccessPolicyRecord } from '../store/accessPolicies';
import type { ConnectionRecord } from '../store/connections';
import type { ProviderRecord } from '../store/providers';
import { catalogue, templateParameters, type GrantType } from '../oauth/catalogue';
import type { AccessPolicyResource, ConnectionResource, ProviderResource } from './schemas';

// Records to the ARM shapes of the API (shared/api/openapi.ts). Records never hold secrets, so nothing here can leak one.

export function providerResource(p: ProviderRecord, redirectUrl: string): ProviderResource {
  return {
    id: `/providers/${p.id}`,
    name: p.id,
    type: 'providers',
    properties: {
      ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
      identityProvider: p.identityProvider,
      ...(p.selfService ? { selfService: p.selfService } : {}),
      ...(p.apiBaseUrl ? { apiBaseUrl: p.apiBaseUrl } : {}),
      oauth2: { redirectUrl, grantTypes: p.grantTypes },
      createdOn: p.createdOn,
      changedOn: p.changedOn,
    },
  };
}

export function connectionResource(c: ConnectionRecord): ConnectionResource {
  return {
    id: `/providers/${c.providerId}/connections/${c.id}`,
    name: c.id,
    type: 'connections',
    properties: {
      ...(c.displayName === undefined ? {} : { displayName: c.displayName }),
      authorizationType: 'OAuth2',
      oauth2grantType: c.grantType,
      ...(Object.keys(c.parameters).length ? { parameters: c.parameters } : {}),
      status: c.status,
      ...(c.error ? { error: c.error } : {}),
      ...(c.expiresOn ? { expiresOn: c.expiresOn } : {}),
      ...(c.endUser ? { endUser: c.endUser } : {}),
      ...(c.owner ? { owner: c.owner } : {}),
      ...(c.agentTokenAccess ? { agentTokenAccess: true } : {}),
      ...(c.activity?.consentedOn ? { consentedOn: c.activity.consentedOn } : {}),
      ...(c.activity?.obtainedOn ? { lastRefreshedOn: c.activity.obtainedOn } : {}),
      ...(c.activity?.refreshExpiresOn ? { refreshTokenExpiresOn: c.activity.refreshExpiresOn } : {}),
      ...(c.activity?.lastUsedOn ? { lastUsedOn: c.activity.lastUsedOn } : {}),
      createdOn: c.createdOn,
      changedOn: c.changedOn,
    },
  };
}

export function accessPolicyResource(a: AccessPolicyRecord): AccessPolicyResource {
  const s = a.subject;
  return {
    id: `/providers/${a.providerId}/connections/${a.connectionId}/accessPolicies/${a.id}`,
    name: a.id,
    type: 'accessPolicies',
    properties: s.kind === 'entra' ? { tenantId: s.tenantId, objectId: s.objectId, ...(s.appIds ? { appIds: s.appIds } : {}) } : { issuer: s.issuer, subject: s.subject },
  };
}

/**
 * The catalogue as served by GET /identityProviders: every parameter each grant type takes, and
 * what a user needs to register the client (documentation, PKCE, client authentication) and to
 * expect of its tokens (refresh-token policy). Templates hold no secrets.
 */
export function identityProviderCatalogue() {
  return catalogue().map((t) => ({
    id: `/identityProviders/${t.id}`,
    name: t.id,
    type: 'identityProviders' as const,
    properties: {
      displayName: t.displayName,
      ...(t.documentationUrl ? { documentationUrl: t.documentationUrl } : {}),
      grantTypes: Object.fromEntries((Object.keys(t.grantTypes) as GrantType[]).map((g) => [g, { parameters: templateParameters(t, g) ?? [] }])),
      pkce: t.pkce,
      clientAuthentication: t.clientAuthentication,
      ...(t.clientAuthenticationParameter ? { clientAuthenticationParameter: t.clientAuthenticationParameter } : {}),
      scopeSeparator: t.scopeSeparator,
      refreshToken: { ...t.refreshToken },
      ...(t.dynamicRegistration ? { dynamicRegistration: true } : {}),
      ...(t.apiBaseUrl ? { apiBaseUrl: t.apiBaseUrl } : {}),
    },
  }));
}
