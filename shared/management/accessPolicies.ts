import { AccessPolicyNotFoundError, ConnectionNotFoundError, ProviderNotFoundError, ValidationError } from '../errors';
import { accessPolicyResource } from '../model/resources';
import type { AccessPolicyPut, AccessPolicyResource } from '../model/schemas';
import type { AccessPolicyStore, PolicySubject } from '../store/accessPolicies';
import type { ConnectionStore } from '../store/connections';
import type { Page } from '../store/paging';
import type { ProviderStore } from '../store/providers';
import type { Precondition } from '../store/countedPartition';
import type { Written } from './providers';

/** The subject a policy body names (an issuer only if trusted: 400 otherwise); `target` names the body's properties in the error. */
export function policySubjectOf(p: AccessPolicyPut['properties'], trustedIssuers: readonly string[], target: string): PolicySubject {
  if ('issuer' in p) {
    if (!trustedIssuers.includes(p.issuer)) {
      throw new ValidationError('The issuer is not trusted by this instance.', [{ code: 'UntrustedIssuer', target: `${target}.issuer`, message: 'Name an issuer listed in CREDMAN_AUTH_ISSUERS.' }]);
    }
    return { kind: 'issuer', issuer: p.issuer, subject: p.subject };
  }
  return {
    kind: 'entra',
    tenantId: p.tenantId.toLowerCase(),
    objectId: p.objectId.toLowerCase(),
    ...(p.appIds ? { appIds: p.appIds.map((a) => a.toLowerCase()) } : {}),
  };
}

export class AccessPolicyService {
  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly policies: AccessPolicyStore,
    /** Issuers trusted by configuration: an issuer+subject policy may only name one of them. */
    private readonly trustedIssuers: readonly string[],
    /** Tells the token cache that who may read a connection's tokens changed. */
    private readonly onChanged: (providerId: string, connectionId: string) => void = () => {},
  ) {}

  async list(providerId: string, connectionId: string, top: number, skipToken?: string): Promise<Page<AccessPolicyResource>> {
    const createdOn = await this.requireConnection(providerId, connectionId);
    const page = await this.policies.list(providerId, connectionId, top, skipToken, createdOn);
    return { items: page.items.map(accessPolicyResource), skipToken: page.skipToken };
  }

  async get(providerId: string, connectionId: string, id: string): Promise<{ resource: AccessPolicyResource; etag: string }> {
    const createdOn = await this.requireConnection(providerId, connectionId);
    const a = await this.policies.get(providerId, connectionId, id, createdOn);
    if (!a) {
      throw new AccessPolicyNotFoundError(connectionId, id);
    }
    return { resource: accessPolicyResource(a), etag: a.etag };
  }

  async put(providerId: string, connectionId: string, id: string, body: AccessPolicyPut, pre: Precondition = {}): Promise<Written<AccessPolicyResource>> {
    const createdOn = await this.requireConnection(providerId, connectionId);
    const subject = policySubjectOf(body.properties, this.trustedIssuers, 'properties');
    const r = await this.policies.put(providerId, connectionId, id, subject, createdOn, pre);
    this.onChanged(providerId, connectionId);
    return { created: r.created, resource: accessPolicyResource(r.record), etag: r.record.etag };
  }

  async delete(providerId: string, connectionId: string, id: string, ifMatch?: string): Promise<boolean> {
    const deleted = await this.policies.delete(providerId, connectionId, id, ifMatch);
    this.onChanged(providerId, connectionId);
    return deleted;
  }

  /** The connection's `createdOn`: policies are written for, and read against, this life of it. */
  private async requireConnection(providerId: string, connectionId: string): Promise<string> {
    const connection = await this.connections.get(providerId, connectionId);
    if (connection) return connection.createdOn;
    if (!(await this.providers.get(providerId))) {
      throw new ProviderNotFoundError(providerId);
    }
    throw new ConnectionNotFoundError(providerId, connectionId);
  }
}
