import { createHash } from 'node:crypto';
import { ConnectionIdTakenError, ConnectionNotFoundError, PreconditionFailedError, SelfServiceDisabledError } from '../errors';
import type { ConsentService } from '../consent/consentService';
import { requesterOf } from '../consent/people';
import type { Caller } from '../identity/caller';
import type { ConnectionRef } from '../lifecycle/lifecycleService';
import { connectionResource } from '../model/resources';
import type { ConnectionOwner, ConnectionResource, MyProviderResource } from '../model/schemas';
import type { AccessPolicyStore, PolicySubject } from '../store/accessPolicies';
import type { ConnectionRecord, ConnectionStore } from '../store/connections';
import { MAX_PROVIDERS, type ProviderRecord, type ProviderStore } from '../store/providers';
import type { ConnectionService } from './connections';
import type { Written } from './providers';

// Self-service connections (docs/api.md, "Self-service connections"): a signed-in person creates,
// consents, reads and deletes their own connection under a provider that offers self-service.
// The connection's id is derived from the caller's identity, so a person can only ever address
// their own; the stored owner is checked as well (an admin may have made a connection of that id),
// and anything that is not theirs answers the same 404 as nothing.

/** The id of the caller's own connection: `u.<oid>` for Entra callers, else `p.` + 40 hex of SHA-256(issuer, subject). */
export function selfServiceConnectionId(caller: Caller): string {
  if (caller.tenantId && caller.objectId) return `u.${caller.objectId.toLowerCase()}`;
  return `p.${createHash('sha256')
    .update(JSON.stringify([caller.issuer, caller.subject]))
    .digest('hex')
    .slice(0, 40)}`;
}

/** The owner recorded on the connection: who it is (what decides) and a name (display only). */
function ownerOf(caller: Caller): ConnectionOwner {
  const who = caller.tenantId && caller.objectId ? { tenantId: caller.tenantId.toLowerCase(), objectId: caller.objectId.toLowerCase() } : { issuer: caller.issuer, subject: caller.subject };
  const name = caller.name ?? caller.userName;
  return { ...who, ...(name ? { displayName: name } : {}) };
}

function isOwner(c: ConnectionRecord, caller: Caller): boolean {
  const o = c.owner;
  if (!o) return false;
  const me = ownerOf(caller);
  if (me.objectId) return o.tenantId === me.tenantId && o.objectId === me.objectId;
  return o.objectId === undefined && o.issuer === me.issuer && o.subject === me.subject;
}

/** The access policy a person's connection grants: exactly that person, through the provider's apps if it names some. */
function policyOf(owner: ConnectionOwner, appIds: readonly string[] | undefined): PolicySubject {
  if (owner.tenantId && owner.objectId) return { kind: 'entra', tenantId: owner.tenantId, objectId: owner.objectId, ...(appIds?.length ? { appIds: [...appIds] } : {}) };
  return { kind: 'issuer', issuer: owner.issuer as string, subject: owner.subject as string };
}

/** The caller's connection found at their id, as a PUT answers it: someone else's is 409 ConnectionIdTaken. */
function ownedBy(providerId: string, c: ConnectionRecord | undefined, caller: Caller): Written<ConnectionResource> {
  const id = selfServiceConnectionId(caller);
  if (!c) throw new ConnectionNotFoundError(providerId, id, { recreated: true });
  if (!isOwner(c, caller)) throw new ConnectionIdTakenError(id);
  return { created: false, resource: connectionResource(c), etag: c.etag };
}

const offers = (p: ProviderRecord | undefined): p is ProviderRecord => p?.selfService?.enabled === true;

export class SelfServiceService {
  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly policies: AccessPolicyStore,
    private readonly connectionService: ConnectionService,
    private readonly consent: ConsentService,
    /** Tells the token cache that who may read a connection's tokens changed. */
    private readonly onChanged: (providerId: string, connectionId: string) => void = () => {},
  ) {}

  /** GET me/providers: the providers offering self-service, each with the caller's connection if any. */
  async listProviders(caller: Caller): Promise<MyProviderResource[]> {
    const id = selfServiceConnectionId(caller);
    const all = (await this.providers.list(MAX_PROVIDERS)).items.filter(offers);
    return Promise.all(
      all.map(async (p) => {
        const c = await this.connections.get(p.id, id);
        const mine = c && isOwner(c, caller) ? c : undefined;
        return {
          id: `/me/providers/${p.id}`,
          name: p.id,
          type: 'selfServiceProviders' as const,
          properties: {
            ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
            identityProvider: p.identityProvider,
            ...(mine ? { connection: { id: mine.id, status: mine.status, ...(mine.error ? { error: mine.error } : {}), ...(mine.expiresOn ? { expiresOn: mine.expiresOn } : {}) } } : {}),
          },
        };
      }),
    );
  }

  /** GET me/connections: the caller's connections, under any provider (also one whose self-service was turned off since). */
  async listConnections(caller: Caller): Promise<ConnectionResource[]> {
    const id = selfServiceConnectionId(caller);
    const all = (await this.providers.list(MAX_PROVIDERS)).items;
    const found = await Promise.all(all.map((p) => this.connections.get(p.id, id)));
    return found.filter((c): c is ConnectionRecord => c !== undefined && isOwner(c, caller)).map(connectionResource);
  }

  async get(caller: Caller, providerId: string): Promise<{ resource: ConnectionResource; etag: string }> {
    const c = await this.mine(caller, providerId);
    return { resource: connectionResource(c), etag: c.etag };
  }

  /**
   * PUT me/providers/{providerId}/connection: creates the caller's connection (idempotent: theirs
   * already there is answered as it is, its policy written again with the provider's current appIds).
   * Only under a provider offering self-service; an existing one keeps working after it is turned off.
   */
  async put(caller: Caller, providerId: string, displayName?: string): Promise<Written<ConnectionResource>> {
    const id = selfServiceConnectionId(caller);
    // Read verified against its envelope: a row changed outside credman (self-service switched on,
    // appIds widened) is 409 RecordTampered, and nothing is created.
    const provider = (await this.providers.getWithSecrets(providerId))?.record;
    if (!offers(provider)) throw new SelfServiceDisabledError(providerId);
    const owner = ownerOf(caller);
    const existing = await this.connections.get(providerId, id);
    let written: Written<ConnectionResource>;
    if (existing) written = ownedBy(providerId, existing, caller);
    else {
      const body = { properties: { authorizationType: 'OAuth2' as const, oauth2grantType: 'AuthorizationCode' as const, ...(displayName ? { displayName } : {}) } };
      try {
        // Create-only: an admin's connection of this id made since the read above is never taken over.
        written = await this.connectionService.put(providerId, id, body, { createOnly: true, owner });
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        written = ownedBy(providerId, await this.connections.get(providerId, id), caller);
      }
    }
    // Written on every PUT: a crash between the two writes is repaired by repeating the PUT.
    await this.policies.put(providerId, id, id, policyOf(owner, provider.selfService?.appIds), written.resource.properties.createdOn);
    this.onChanged(providerId, id);
    return written;
  }

  /** DELETE: the connection and its policies; false when the caller has none there. */
  async delete(caller: Caller, providerId: string): Promise<ConnectionRef | undefined> {
    const c = await this.connections.get(providerId, selfServiceConnectionId(caller));
    if (!c || !isOwner(c, caller)) return undefined;
    return this.connectionService.delete(providerId, c.id);
  }

  /** A login link for the caller's own connection (connect, or reconnect). */
  async getLoginLink(caller: Caller, providerId: string, postLoginRedirectUrl?: string): Promise<{ loginLink: string }> {
    const c = await this.mine(caller, providerId);
    return this.consent.getLoginLink(providerId, c.id, requesterOf(caller), postLoginRedirectUrl, { ownOriginOnly: true });
  }

  /**
   * The person confirms the consent code their own sign-in produced, with their own token: the
   * consent is bound to the signed-in owner, not to whoever followed the link.
   */
  async confirmConsentCode(caller: Caller, providerId: string, consentCode: string): Promise<ConnectionRef> {
    const c = await this.mine(caller, providerId);
    return this.consent.confirmConsentCode(providerId, c.id, consentCode);
  }

  /** The caller's connection under the provider, or the one 404 for "none" and "not yours". */
  private async mine(caller: Caller, providerId: string): Promise<ConnectionRecord> {
    const id = selfServiceConnectionId(caller);
    const c = await this.connections.get(providerId, id);
    if (!c || !isOwner(c, caller)) throw new ConnectionNotFoundError(providerId, id);
    return c;
  }
}
