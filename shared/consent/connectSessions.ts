import { ConnectionNotFoundError, ForbiddenError, PreconditionFailedError, ProviderNotFoundError, UnsupportedGrantTypeError } from '../errors';
import { policySubjectOf } from '../management/accessPolicies';
import type { ConnectSessionRequest } from '../model/runtimeSchemas';
import type { EndUser } from '../model/schemas';
import type { AccessPolicyStore, PolicySubject } from '../store/accessPolicies';
import type { ConnectionRecord, ConnectionStore } from '../store/connections';
import type { ProviderStore } from '../store/providers';
import type { ConnectionService } from '../management/connections';

// Connect sessions (docs/api.md, "Connect sessions"): an app with the connect role lets one of its
// users connect an account. The session is a login link (consentService.ts) whose sealed row also
// carries what to create; nothing is written until the consent is confirmed, then `materialize`
// creates the connection (or readies the end user's existing one) with its access policies.

/** What a session creates, sealed in its consent rows from the link to the confirmation. */
export interface ConnectPayload {
  endUser: EndUser;
  /** The app that created the session (issuer and subject): an end user id is the app's own name for its user. */
  app: string;
  accessPolicies: Array<{ id: string; subject: PolicySubject }>;
}

export class ConnectSessions {
  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly policies: AccessPolicyStore,
    /** Issuers an issuer+subject policy may name (CREDMAN_AUTH_ISSUERS). */
    private readonly trustedIssuers: readonly string[],
    /** Creates the connection (with the app's own policy, as every connection gets). */
    private readonly connectionService: Pick<ConnectionService, 'put'>,
    /** Tells the token cache that who may read a connection's tokens changed. */
    private readonly onChanged: (providerId: string, connectionId: string) => void,
  ) {}

  /** Before a link is issued: the provider exists with the authorization-code grant, the connection id is free or this end user's, issuers are trusted. */
  async check(req: ConnectSessionRequest, requestedBy: { issuer: string; subject: string }): Promise<ConnectPayload> {
    const app = JSON.stringify([requestedBy.issuer, requestedBy.subject]);
    const provider = await this.providers.get(req.providerId);
    if (!provider) throw new ProviderNotFoundError(req.providerId);
    if (!provider.grantTypes.authorizationCode) {
      throw new UnsupportedGrantTypeError(`Provider '${req.providerId}' is not configured for the authorization-code grant.`);
    }
    refuseOthers(await this.connections.get(req.providerId, req.connectionId), req.endUser, app);
    return {
      endUser: req.endUser,
      app,
      accessPolicies: req.accessPolicies.map((p, i) => ({ id: p.id, subject: policySubjectOf(p.properties, this.trustedIssuers, `accessPolicies[${i}].properties`) })),
    };
  }

  /** After a confirmed consent: the connection exists with the session's end user and policies. Returns its createdOn (the tokens go to that life of it). */
  async materialize(providerId: string, connectionId: string, payload: ConnectPayload): Promise<string> {
    const existing = await this.connections.get(providerId, connectionId);
    // Checked again: the id may have been taken since the link was issued.
    refuseOthers(existing, payload.endUser, payload.app);
    const createdOn = existing?.createdOn ?? (await this.create(providerId, connectionId, payload));
    for (const p of payload.accessPolicies) await this.policies.put(providerId, connectionId, p.id, p.subject, createdOn);
    this.onChanged(providerId, connectionId);
    return createdOn;
  }

  /** Creates the session's connection as any connection is created (the app's own policy with it); returns its createdOn. */
  private async create(providerId: string, connectionId: string, payload: ConnectPayload): Promise<string> {
    const body = { properties: { authorizationType: 'OAuth2' as const, oauth2grantType: 'AuthorizationCode' as const } };
    try {
      // Create-only: a connection of this id made since the read (an admin's, another app's session's) is checked, never replaced.
      const r = await this.connectionService.put(providerId, connectionId, body, { createOnly: true, endUser: payload.endUser, endUserApp: payload.app });
      return r.resource.properties.createdOn;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      const now = await this.connections.get(providerId, connectionId);
      refuseOthers(now, payload.endUser, payload.app);
      if (!now) throw new ConnectionNotFoundError(providerId, connectionId, { recreated: true });
      return now.createdOn;
    }
  }
}

/**
 * A session may reconnect only a connection a session of the same app made for the same end user:
 * never an admin's, another user's, or another app's (end user ids are each app's own names, often
 * guessable; another app's session would add its policies and its account to that connection).
 */
function refuseOthers(existing: ConnectionRecord | undefined, endUser: EndUser, app: string): void {
  if (existing && (existing.grantType !== 'AuthorizationCode' || existing.endUser?.id !== endUser.id || existing.endUserApp !== app)) {
    throw new ForbiddenError(`Connection '${existing.id}' exists and is not one a connect session made for this end user.`);
  }
}
