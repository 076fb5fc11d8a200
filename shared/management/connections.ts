import { ConnectionNotFoundError, ConnectionStateError, CredmanError, PreconditionFailedError, ProviderNotFoundError, UnsupportedGrantTypeError } from '../errors';
import { connectionResource } from '../model/resources';
import type { ConnectionOwner, ConnectionPut, ConnectionResource, EndUser } from '../model/schemas';
import { LifecycleService, type DeletedConnection } from '../lifecycle/lifecycleService';
import { findTemplate, type GrantType } from '../oauth/catalogue';
import type { AccessPolicyStore } from '../store/accessPolicies';
import { ifMatchFails } from '../store/countedPartition';
import type { ConnectionStore } from '../store/connections';
import type { Page } from '../store/paging';
import type { ProviderRecord, ProviderStore } from '../store/providers';
import type { TokenService } from '../tokens/tokenService';
import { placeholdersOf } from '../oauth/endpoints';
import type { IdpClient } from '../oauth/idpClient';
import { checkDestinations, validateParameters } from './parameters';
import type { Written } from './providers';

const GRANT: Record<ConnectionPut['properties']['oauth2grantType'], GrantType> = {
  AuthorizationCode: 'authorizationCode',
  ClientCredentials: 'clientCredentials',
};

export interface ConnectionPutOptions {
  ifMatch?: string;
  /** Never over a connection already there (412): a first write that checked the id was free. */
  createOnly?: boolean;
  /** The person creating it through self-service (shared/management/selfService.ts). */
  owner?: ConnectionOwner;
  /** The end user, and the app, of the connect session creating it (shared/consent/connectSessions.ts). */
  endUser?: EndUser;
  endUserApp?: string;
}

export class ConnectionService {
  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly policies: AccessPolicyStore,
    /** The app's own identity, granted access to every new connection (as API Management does). */
    private readonly appIdentity: { tenantId: string; objectId: string },
    private readonly tokens: TokenService,
    /** The identity-provider client's destination guard, for endpoints a connection's parameters move. */
    private readonly destinations: Pick<IdpClient, 'checkUrl'>,
  ) {}

  async list(providerId: string, top: number, skipToken?: string, filter?: { endUserId: string }): Promise<Page<ConnectionResource>> {
    await this.requireProvider(providerId);
    const page = await this.connections.list(providerId, top, skipToken, filter);
    return { items: page.items.map(connectionResource), skipToken: page.skipToken };
  }

  async get(providerId: string, id: string): Promise<{ resource: ConnectionResource; etag: string }> {
    const c = await this.connections.get(providerId, id);
    if (!c) {
      await this.requireProvider(providerId);
      throw new ConnectionNotFoundError(providerId, id);
    }
    return { resource: connectionResource(c), etag: c.etag };
  }

  async put(providerId: string, id: string, body: ConnectionPut, opts: ConnectionPutOptions = {}): Promise<Written<ConnectionResource>> {
    const { ifMatch, createOnly, ...creator } = opts;
    const provider = await this.requireProvider(providerId);
    const props = body.properties;
    const grant = GRANT[props.oauth2grantType];
    if (!provider.grantTypes[grant]) {
      throw new UnsupportedGrantTypeError(`Provider '${providerId}' is not configured for the ${props.oauth2grantType} grant.`, [
        { code: 'UnsupportedGrantType', target: 'properties.oauth2grantType', message: `Configure oauth2.grantTypes.${grant} on the provider first.` },
      ]);
    }
    const template = findTemplate(provider.identityProvider);
    if (!template) throw new Error(`Provider '${providerId}' names a template that no longer exists.`);
    const split = validateParameters(template, grant, props.parameters ?? {}, 'properties.parameters', { requireAll: false });
    // A connection's own parameters (a client-credentials tokenUrl…) may move the endpoints credman calls.
    const moved = [template.endpoints.tokenUrl, template.endpoints.refreshUrl ?? ''].flatMap(placeholdersOf).some((n) => n in split.plain);
    if (moved) checkDestinations(this.destinations, template, { ...provider.grantTypes[grant], ...split.plain }, 'properties.parameters');
    const r = await this.connections.put(
      providerId,
      id,
      {
        ...(props.displayName === undefined ? {} : { displayName: props.displayName }),
        grantType: props.oauth2grantType,
        parameters: split.plain,
        // A replace states the whole connection: absent turns the switch off.
        ...(props.agentTokenAccess ? { agentTokenAccess: true } : {}),
        ...creator,
      },
      split.secret,
      { ifMatch, createOnly },
    );
    if (r.created) {
      const app = this.appIdentity;
      await this.policies.put(providerId, id, app.objectId, { kind: 'entra', tenantId: app.tenantId, objectId: app.objectId }, r.record.createdOn);
    }
    this.tokens.forget(providerId, id);
    // A connection whose client secret was refused, PUT again after the secret was fixed (on the
    // provider, or here), tries again at once: with its refresh token, no new consent is needed.
    const secretRefused = r.record.status === 'Error' && r.record.error?.code === 'ClientSecretInvalid';
    if (props.oauth2grantType === 'ClientCredentials' || secretRefused) {
      // The first token is fetched on create (and again when the parameters change);
      // a refusal leaves the connection in Error with the identity provider's reason, still 201/200.
      await this.fetchFirstToken(providerId, id);
      const now = await this.connections.get(providerId, id);
      if (now) return { created: r.created, resource: connectionResource(now), etag: now.etag };
    }
    return { created: r.created, resource: connectionResource(r.record), etag: r.record.etag };
  }

  /**
   * Policies go first: a crash half-way leaves a connection that a repeated DELETE removes.
   * Returns the generation deleted (whose lifecycle is to end), undefined when there was none.
   */
  async delete(providerId: string, id: string, ifMatch?: string): Promise<DeletedConnection | undefined> {
    const c = await this.connections.get(providerId, id);
    if (ifMatchFails(ifMatch, c?.etag)) throw new PreconditionFailedError();
    if (!c) return undefined;
    await this.policies.deleteAll(providerId, id);
    const deleted = await this.connections.delete(providerId, id, ifMatch);
    this.tokens.forget(providerId, id);
    return deleted ? { providerId, connectionId: id, generation: LifecycleService.generationOf(c.createdOn), ...(c.endUser ? { endUser: c.endUser } : {}) } : undefined;
  }

  private async fetchFirstToken(providerId: string, id: string): Promise<void> {
    try {
      await this.tokens.fetchNow(providerId, id);
    } catch (err) {
      if (!(err instanceof CredmanError) || err.status === 404) throw err;
      if (err instanceof ConnectionStateError) return; // already recorded on the connection (ClientSecretInvalid…)
      // Others (a refused destination's ProviderMisconfigured…) are recorded here, code and fixed message only.
      await this.tokens.recordFailure(providerId, id, err.code === 'TooManyRequests' ? 'IdentityProviderError' : err.code, err.message);
    }
  }

  private async requireProvider(providerId: string): Promise<ProviderRecord> {
    const p = await this.providers.get(providerId);
    if (!p) throw new ProviderNotFoundError(providerId);
    return p;
  }
}
