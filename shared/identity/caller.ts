import { ForbiddenError } from '../errors';

/**
 * Who is calling, as established from a verified bearer token. Entra ID fields (`tid`, `oid`,
 * `azp`/`appid`) are present for Entra tokens; workloads of other OpenID issuers are identified
 * by `issuer` + `subject` alone, which is how access policies name them.
 */
export interface Caller {
  readonly issuer: string;
  readonly subject: string;
  /** Entra `tid`. */
  readonly tenantId?: string;
  /** Entra `oid`: the user, service principal or managed identity. */
  readonly objectId?: string;
  /** The calling application: `azp` (v2 tokens) or `appid` (v1 tokens). */
  readonly appId?: string;
  /** App roles granted to the identity (`roles`). */
  readonly roles: readonly string[];
  /**
   * Group object ids (`groups`). Entra omits them past its overage limit (200 in JWTs) and sends
   * `_claim_names` instead; such a caller simply has no groups here.
   */
  readonly groups: readonly string[];
  /** Entra `name`: for display only (who asked for a login link), never for a decision. */
  readonly name?: string;
  /** Entra `preferred_username` (or v1 `upn`): for display only, like `name`. */
  readonly userName?: string;
  /**
   * The token is an application's own (client credentials), not a signed-in person's: Entra's
   * `idtyp: app`, or an Entra token without `scp` (delegated tokens always carry it); for other
   * issuers any token unless the issuer is trusted for people (`people`), and then one marked as
   * client credentials (RFC 9068's `sub` equal to `client_id`, Auth0's `gty`, Okta's `cid`).
   */
  readonly appOnly?: true;
}

/** Throws 403 unless a person signed in to get the token (self-service is for people, not apps). */
export function requirePerson(caller: Caller): void {
  if (caller.appOnly) throw new ForbiddenError("The token is an application's own, not a signed-in person's: self-service needs a person's (delegated) token.");
}

/** Throws 403 unless the caller holds the app role. */
export function requireRole(caller: Caller, role: string): void {
  if (!caller.roles.includes(role)) {
    throw new ForbiddenError(`The caller does not have the app role '${role}'.`);
  }
}
