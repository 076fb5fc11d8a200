import { PreconditionFailedError, ProviderNotFoundError, ValidationError } from '../errors';
import { LifecycleService, type DeletedConnection } from '../lifecycle/lifecycleService';
import type { ProviderPut, ProviderResource } from '../model/schemas';
import { providerResource } from '../model/resources';
import { findTemplate, type GrantType } from '../oauth/catalogue';
import type { AccessPolicyStore } from '../store/accessPolicies';
import { ifMatchFails, type Precondition } from '../store/countedPartition';
import type { ConnectionStore } from '../store/connections';
import type { Page } from '../store/paging';
import type { ProviderGrantTypes, ProviderStore } from '../store/providers';
import { discoverAndRegister, updateRegistration } from '../oauth/dynamicRegistration';
import type { IdpClient } from '../oauth/idpClient';
import type { ProviderTemplate } from '../oauth/template';
import { checkDestinations, validateParameters } from './parameters';
import { checkDestination, DestinationError, type DestinationOptions } from '../net/destination';

/** Where a dynamic registration's secrets are kept among the provider's sealed secrets (RFC 7592's bearer included). */
const SECRET = { clientSecret: 'authorizationCode.clientSecret', registrationAccessToken: 'authorizationCode.registrationAccessToken' } as const;

export interface Written<T> {
  created: boolean;
  resource: T;
  etag: string;
}

export class ProviderService {
  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly policies: AccessPolicyStore,
    private readonly publicBaseUrl: string,
    /** For templates that discover and register themselves (oauth2.1-dcr). */
    private readonly idp: IdpClient,
    /** Tells the token cache that a connection is gone. */
    private readonly onConnectionDeleted: (providerId: string, connectionId: string) => void = () => {},
    /** The destination guard of the proxy's upstream (CREDMAN_ALLOW_PRIVATE_NETWORKS). */
    private readonly outbound: DestinationOptions = { allowPrivateNetworks: false },
  ) {}

  /** The callback URL to register at the identity provider. */
  get redirectUrl(): string {
    return `${this.publicBaseUrl}/api/consent/callback`;
  }

  async list(top: number, skipToken?: string): Promise<Page<ProviderResource>> {
    const page = await this.providers.list(top, skipToken);
    return { items: page.items.map((p) => providerResource(p, this.redirectUrl)), skipToken: page.skipToken };
  }

  async get(id: string): Promise<{ resource: ProviderResource; etag: string }> {
    const p = await this.providers.get(id);
    if (!p) throw new ProviderNotFoundError(id);
    return { resource: providerResource(p, this.redirectUrl), etag: p.etag };
  }

  async put(id: string, body: ProviderPut, pre: Precondition = {}): Promise<Written<ProviderResource>> {
    // Before any registration at the identity provider: the store enforces it again at the write.
    if (pre.createOnly && (await this.providers.get(id))) throw new PreconditionFailedError();
    const props = body.properties;
    const template = findTemplate(props.identityProvider);
    if (!template) {
      throw new ValidationError(`Unknown identity provider '${props.identityProvider}'.`, [
        { code: 'UnknownIdentityProvider', target: 'properties.identityProvider', message: 'See GET /identityProviders.' },
      ]);
    }
    const given = props.oauth2.grantTypes;
    const grants = (Object.keys(given) as GrantType[]).filter((g) => given[g] !== undefined);
    if (grants.length === 0) {
      throw new ValidationError('A provider needs at least one grant type.', [
        { code: 'MissingGrantType', target: 'properties.oauth2.grantTypes', message: 'Give authorizationCode and/or clientCredentials.' },
      ]);
    }
    const grantTypes: ProviderGrantTypes = {};
    const secrets: Record<string, string> = {};
    for (const g of grants) {
      // Derived parameters (set by credman, shown by GET) are ignored when a GET body is sent back.
      const input = Object.fromEntries(Object.entries(given[g] ?? {}).filter(([k]) => !template.derivedParameters?.includes(k)));
      const split = validateParameters(template, g, input, `properties.oauth2.grantTypes.${g}`, { requireAll: true });
      grantTypes[g] = split.plain;
      for (const [k, v] of Object.entries(split.secret)) secrets[`${g}.${k}`] = v;
    }
    if (props.selfService?.enabled && !grantTypes.authorizationCode) {
      throw new ValidationError('Self-service needs the authorization-code grant: people consent for themselves.', [
        { code: 'MissingGrantType', target: 'properties.selfService', message: 'Configure oauth2.grantTypes.authorizationCode, or disable self-service.' },
      ]);
    }
    if (template.dynamicRegistration && grantTypes.authorizationCode) {
      await this.register(id, template, grantTypes.authorizationCode, secrets);
    }
    for (const g of grants) checkDestinations(this.idp, template, grantTypes[g] as Record<string, string>, `properties.oauth2.grantTypes.${g}`);
    const apiBaseUrl = props.apiBaseUrl === undefined ? undefined : this.checkApiBaseUrl(props.apiBaseUrl);
    const r = await this.providers.put(
      id,
      {
        ...(props.displayName === undefined ? {} : { displayName: props.displayName }),
        identityProvider: template.id,
        grantTypes,
        ...(props.selfService ? { selfService: { enabled: props.selfService.enabled, ...(props.selfService.appIds ? { appIds: props.selfService.appIds.map((a) => a.toLowerCase()) } : {}) } } : {}),
        ...(apiBaseUrl ? { apiBaseUrl } : {}),
      },
      secrets,
      pre,
    );
    return { created: r.created, resource: providerResource(r.record, this.redirectUrl), etag: r.record.etag };
  }

  /** The proxy's upstream as stored: allowed by the destination guard, without a trailing slash. */
  private checkApiBaseUrl(raw: string): string {
    try {
      const url = checkDestination(raw, this.outbound);
      return url.href.replace(/\/+$/, '');
    } catch (err) {
      if (!(err instanceof DestinationError)) throw err;
      throw new ValidationError('The API base URL is not a destination credman calls.', [{ code: err.code, target: 'properties.apiBaseUrl', message: err.message }]);
    }
  }

  /**
   * Registers credman at the server once: a replace with the same serverUrl and scopes keeps the
   * registration, and stores what it learnt as derived parameters. When credman's callback has
   * changed since (a new public URL), the registration is moved to it by RFC 7592, keeping the
   * client_id and so the connections' refresh tokens; a server without RFC 7592 gets a new
   * registration, and connections consented under the old client must consent again.
   */
  private async register(id: string, template: ProviderTemplate, params: Record<string, string>, secrets: Record<string, string>): Promise<void> {
    const existing = await this.providers.getWithSecrets(id);
    const before = existing?.record.identityProvider === template.id ? existing.record.grantTypes.authorizationCode : undefined;
    const kept = { clientSecret: existing?.secrets[SECRET.clientSecret], registrationAccessToken: existing?.secrets[SECRET.registrationAccessToken] };
    const store = (values: { clientSecret?: string; registrationAccessToken?: string }) => {
      for (const name of ['clientSecret', 'registrationAccessToken'] as const) {
        const value = values[name];
        if (value) secrets[SECRET[name]] = value;
      }
    };
    if (before?.clientId && before.serverUrl === params.serverUrl && before.scopes === params.scopes) {
      // Registered for this callback (or before credman recorded which): nothing to change.
      if (before.registeredRedirectUrl === undefined || before.registeredRedirectUrl === this.redirectUrl) {
        for (const k of template.derivedParameters ?? []) if (before[k] !== undefined) params[k] = before[k];
        store(kept);
        return;
      }
      const { issuer, authorizationUrl, tokenUrl, clientId, registrationClientUri } = before;
      if (registrationClientUri && kept.registrationAccessToken && issuer && authorizationUrl && tokenUrl) {
        const current = { issuer, authorizationUrl, tokenUrl, clientId, registrationClientUri, registrationAccessToken: kept.registrationAccessToken };
        const moved = await updateRegistration(this.idp, { ...current, ...(kept.clientSecret ? { clientSecret: kept.clientSecret } : {}) }, this.redirectUrl, params.scopes);
        Object.assign(params, moved.plain);
        store(moved);
        return;
      }
    }
    const reg = await discoverAndRegister(this.idp, params.serverUrl, this.redirectUrl, params.scopes);
    Object.assign(params, reg.plain);
    store(reg);
  }

  /**
   * Deletes the provider with its connections and their policies, at once when it has few
   * connections; otherwise says so, and the caller runs the cascade in the background
   * (`deletePage` until it returns nothing, then `finishDelete`). Children go first, so a crash
   * half-way leaves a provider that a repeated DELETE finishes removing, never orphans.
   */
  async delete(
    id: string,
    ifMatch?: string,
    beforeDeleting?: (connections: DeletedConnection[]) => Promise<void>,
  ): Promise<{ outcome: 'absent' } | { outcome: 'deleted'; connectionIds: string[] } | { outcome: 'background' }> {
    const p = await this.providers.get(id);
    if (ifMatchFails(ifMatch, p?.etag)) throw new PreconditionFailedError();
    if (!p) return { outcome: 'absent' };
    const first = await this.connections.list(id, SYNC_CASCADE_LIMIT);
    if (first.skipToken) return { outcome: 'background' };
    const connectionIds = await this.deletePage(id, beforeDeleting);
    if (!(await this.finishDelete(id, ifMatch))) return { outcome: 'background' };
    return { outcome: 'deleted', connectionIds };
  }

  /**
   * Deletes up to a page of the provider's connections (policies first); returns their ids.
   * `beforeDeleting` (ending their lifecycles, given the generation of each) runs first: a crash
   * after it repeats it, while a crash after the deletes would lose track of what still had to end.
   */
  async deletePage(id: string, beforeDeleting?: (connections: DeletedConnection[]) => Promise<void>): Promise<string[]> {
    const page = await this.connections.list(id, 100);
    await beforeDeleting?.(page.items.map((c) => ({ providerId: id, connectionId: c.id, generation: LifecycleService.generationOf(c.createdOn), ...(c.endUser ? { endUser: c.endUser } : {}) })));
    const deleted: string[] = [];
    const queue = [...page.items];
    await Promise.all(
      Array.from({ length: Math.min(CASCADE_CONCURRENCY, queue.length) }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          await this.policies.deleteAll(id, c.id);
          await this.connections.delete(id, c.id);
          this.onConnectionDeleted(id, c.id);
          deleted.push(c.id);
        }
      }),
    );
    return deleted;
  }

  /** Removes the provider once no connection is left; false when one appeared meanwhile. */
  async finishDelete(id: string, ifMatch?: string): Promise<boolean> {
    if ((await this.connections.list(id, 1)).items.length) return false;
    await this.connections.deleteAll(id);
    await this.providers.delete(id, ifMatch);
    return true;
  }
}

/** Up to this many connections, DELETE /providers/{id} cascades within the request. */
export const SYNC_CASCADE_LIMIT = 50;
const CASCADE_CONCURRENCY = 8;
