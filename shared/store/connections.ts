import { randomBytes } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { ConnectionOwner, ConnectionStatus, EndUser } from '../model/schemas';
import { deleteCounted, deletePartition, readEntity, upsertCounted, type UpsertOptions } from './countedPartition';
import { listPartition, type Page } from './paging';
import { TamperedRecordError } from '../errors';
import { agentTokenAccessOf, type ConnectionSealer } from './connectionSeal';

// A provider's connections form one partition (PartitionKey = providerId): listing is one paged
// partition query, a connection is one point read, and the per-provider limit is a counter row.
export const MAX_CONNECTIONS_PER_PROVIDER = 10000;

export type GrantTypeName = 'AuthorizationCode' | 'ClientCredentials';

export interface ConnectionRecord {
  providerId: string;
  id: string;
  displayName?: string;
  grantType: GrantTypeName;
  /** Non-secret parameters only. */
  parameters: Record<string, string>;
  status: ConnectionStatus;
  error?: { code: string; message: string };
  expiresOn?: string;
  /** Set by a connect session: the app's end user the connection belongs to. */
  endUser?: EndUser;
  /** The app (issuer and subject) whose connect session created it: only that app's sessions reconnect it. */
  endUserApp?: string;
  /** Who created it through self-service (absent: an admin's connection). */
  owner?: ConnectionOwner;
  /** An administrator lets MCP's get_token return its raw access token (as stored: get_token checks the sealed one). */
  agentTokenAccess?: true;
  /** Token state for display (the tokens themselves are read only by the token store). */
  activity?: ConnectionActivity;
  createdOn: string;
  changedOn: string;
  etag: string;
}

/** When the connection was consented, its access token obtained and last used, and its refresh token's end. */
export interface ConnectionActivity {
  consentedOn?: string;
  obtainedOn?: string;
  lastUsedOn?: string;
  refreshExpiresOn?: string;
}

export interface ConnectionEntity {
  displayName?: string;
  grantType: GrantTypeName;
  parameters: string;
  /** Envelope of `param.<name>` (secret parameters) and, once connected, `token.<name>`. */
  secrets?: string;
  /** The administrator's switch for MCP's get_token; in the envelope's binding (shared/store/connectionSeal.ts). */
  agentTokenAccess?: boolean;
  status: ConnectionStatus;
  /** JSON of ConnectionOwner: kept by every replace. */
  owner?: string;
  errorCode?: string;
  errorMessage?: string;
  expiresOn?: string;
  /** The connect session's end user: its id a column of its own, so a list can filter on it. */
  endUserId?: string;
  endUserName?: string;
  endUserEmail?: string;
  endUserApp?: string;
  createdOn: string;
  changedOn: string;
  /** Token state (shared/store/connectionTokens.ts); the tokens themselves are in `secrets`. */
  tokenType?: string;
  scope?: string;
  obtainedOn?: string;
  refreshExpiresOn?: string;
  tokenVersion?: number;
  leaseOwner?: string;
  leaseUntil?: number;
  windowStart?: number;
  windowCount?: number;
  /** Grows with every write of `secrets`; in the envelope's binding (shared/store/connectionSeal.ts). */
  sealVersion?: number;
  /** Last consent or token served, written at most hourly per instance (not per request). */
  lastUsedOn?: string;
  consentedOn?: string;
  /** Forced refreshes that reached the identity provider in the current minute (their own budget). */
  forcedWindowStart?: number;
  forcedWindowCount?: number;
  /**
   * Which grant the tokens belong to (see grantGenerationOf): random, new on create, on each
   * consent, on a grant-type change and on every PUT of a client-credentials connection; a
   * refresh keeps it. Instances key their cached tokens by it.
   */
  grantGeneration?: string;
}

/**
 * The generation of a connection's grant: an instance serves a cached token only while the row
 * still names the generation the token was read under, so a connection deleted and created again
 * under the same id, or consented by another account, never gets the previous grant's token.
 * Random (never reused, unlike a clock); rows written before the field existed count as one
 * generation per createdOn. Not the lifecycle's generation (LifecycleService.generationOf), which
 * must survive consents: a lifecycle waits for consent and is woken by it.
 */
export function grantGenerationOf(e: Pick<ConnectionEntity, 'grantGeneration' | 'createdOn'>): string {
  return e.grantGeneration ?? `created:${e.createdOn}`;
}

export const newGrantGeneration = (): string => randomBytes(12).toString('base64url');

export const PARAM = 'param.';

export class ConnectionStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: ConnectionSealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(providerId: string, id: string): Promise<ConnectionRecord | undefined> {
    const e = await readEntity<ConnectionEntity>(this.table, providerId, id);
    return e && toRecord(providerId, id, e, e.etag);
  }

  async list(providerId: string, top: number, skipToken?: string, filter?: { endUserId: string }): Promise<Page<ConnectionRecord>> {
    const where = filter ? odata`endUserId eq ${filter.endUserId}` : undefined;
    const page = await listPartition<ConnectionEntity>(this.table, providerId, top, skipToken, where);
    return { items: page.items.map((e) => toRecord(providerId, e.rowKey as string, e, e.etag)), skipToken: page.skipToken };
  }

  /**
   * Creates or replaces a connection. A replace that keeps the grant type keeps the connection's
   * state and tokens (a PUT of the same body is idempotent); changing the grant type starts over.
   * The end user stays unless one is given (only a connect session gives one).
   */
  async put(
    providerId: string,
    id: string,
    value: {
      displayName?: string;
      grantType: GrantTypeName;
      parameters: Record<string, string>;
      agentTokenAccess?: boolean;
      endUser?: EndUser;
      endUserApp?: string;
      owner?: ConnectionOwner;
    },
    secretParameters: Record<string, string>,
    condition: Pick<UpsertOptions, 'ifMatch' | 'createOnly'> = {},
  ): Promise<{ created: boolean; record: ConnectionRecord }> {
    const now = this.now().toISOString();
    const parameters = JSON.stringify(value.parameters);
    const access = value.agentTokenAccess === true ? { agentTokenAccess: true } : {};
    const r = await upsertCounted<ConnectionEntity>(
      this.table,
      providerId,
      id,
      async (existing) => {
        const same = existing !== undefined && existing.grantType === value.grantType ? existing : undefined;
        let keep = same !== undefined;
        let kept: Record<string, string> = {};
        try {
          if (same) kept = await this.sealer.open(providerId, id, same);
        } catch (err) {
          // An administrator's PUT over a tampered row replaces it: the connection starts over.
          if (!(err instanceof TamperedRecordError)) throw err;
          keep = false;
        }
        const secrets: Record<string, string> = {};
        for (const [k, v] of Object.entries(kept)) if (!k.startsWith(PARAM)) secrets[k] = v;
        for (const [k, v] of Object.entries(secretParameters)) secrets[PARAM + k] = v;
        return {
          partitionKey: providerId,
          rowKey: id,
          ...(value.displayName === undefined ? {} : { displayName: value.displayName }),
          grantType: value.grantType,
          parameters,
          ...access,
          // Sealed again under the new configuration (and switch): a replace is the one way either changes.
          ...(await this.sealer.seal(providerId, id, { grantType: value.grantType, parameters, ...access, sealVersion: existing?.sealVersion }, secrets)),
          status: keep && same ? same.status : 'Pending',
          // An admin's replace keeps the person who owns it.
          ...(value.owner ? { owner: JSON.stringify(value.owner) } : existing?.owner ? { owner: existing.owner } : {}),
          ...(keep && same?.errorCode ? { errorCode: same.errorCode, errorMessage: same.errorMessage ?? '' } : {}),
          ...(keep && same ? tokenStateOf(same) : {}),
          // Client-credentials tokens are fetched again with the new parameters (another tenant,
          // scope or secret): instances must not keep serving the old ones. An authorization-code
          // connection keeps its person's tokens, and its generation (a refresh under way stores into it).
          ...(keep && value.grantType === 'AuthorizationCode' ? {} : { grantGeneration: newGrantGeneration() }),
          ...endUserColumns(value.endUser ?? (existing && endUserOf(existing))),
          ...(value.endUserApp ? { endUserApp: value.endUserApp } : existing?.endUserApp ? { endUserApp: existing.endUserApp } : {}),
          createdOn: existing?.createdOn ?? now,
          changedOn: now,
        };
      },
      {
        limit: MAX_CONNECTIONS_PER_PROVIDER,
        limitMessage: `A credential provider holds at most ${MAX_CONNECTIONS_PER_PROVIDER} connections.`,
        ...condition,
      },
    );
    this.sealer.written(providerId, id, r.entity.sealVersion);
    return { created: r.created, record: toRecord(providerId, id, r.entity, r.etag) };
  }

  delete(providerId: string, id: string, ifMatch?: string): Promise<boolean> {
    return deleteCounted(this.table, providerId, id, ifMatch);
  }

  /** Drops what is left of a provider's partition (its counter) once its connections are gone. */
  deleteAll(providerId: string): Promise<number> {
    return deletePartition(this.table, providerId);
  }
}

const TOKEN_STATE = [
  'expiresOn',
  'tokenType',
  'scope',
  'obtainedOn',
  'refreshExpiresOn',
  'tokenVersion',
  'leaseOwner',
  'leaseUntil',
  'windowStart',
  'windowCount',
  'lastUsedOn',
  'consentedOn',
  'forcedWindowStart',
  'forcedWindowCount',
  'grantGeneration',
] as const;

/** The token-state columns of a row, carried over when a replace keeps the connection's tokens. */
function tokenStateOf(e: ConnectionEntity): Partial<ConnectionEntity> {
  const out: Record<string, unknown> = {};
  for (const k of TOKEN_STATE) if (e[k] !== undefined && e[k] !== null) out[k] = e[k];
  return out;
}

function toRecord(providerId: string, id: string, e: ConnectionEntity, etag: string): ConnectionRecord {
  return {
    providerId,
    id,
    ...(e.displayName === undefined ? {} : { displayName: e.displayName }),
    grantType: e.grantType,
    parameters: JSON.parse(e.parameters) as Record<string, string>,
    status: e.status,
    ...(e.errorCode ? { error: { code: e.errorCode, message: e.errorMessage ?? '' } } : {}),
    ...(e.expiresOn ? { expiresOn: e.expiresOn } : {}),
    ...(e.endUserId ? { endUser: endUserOf(e) } : {}),
    ...(e.endUserApp ? { endUserApp: e.endUserApp } : {}),
    ...(e.owner ? { owner: JSON.parse(e.owner) as ConnectionOwner } : {}),
    ...(agentTokenAccessOf(e) ? { agentTokenAccess: true as const } : {}),
    ...activityOf(e),
    createdOn: e.createdOn,
    changedOn: e.changedOn,
    etag,
  };
}

const ACTIVITY = ['consentedOn', 'obtainedOn', 'lastUsedOn', 'refreshExpiresOn'] as const;

function activityOf(e: ConnectionEntity): { activity?: ConnectionActivity } {
  const a: ConnectionActivity = {};
  for (const k of ACTIVITY) if (typeof e[k] === 'string') a[k] = e[k];
  return Object.keys(a).length ? { activity: a } : {};
}

export function endUserOf(e: Pick<ConnectionEntity, 'endUserId' | 'endUserName' | 'endUserEmail'>): EndUser | undefined {
  if (!e.endUserId) return undefined;
  return { id: e.endUserId, ...(e.endUserName ? { displayName: e.endUserName } : {}), ...(e.endUserEmail ? { email: e.endUserEmail } : {}) };
}

function endUserColumns(u: EndUser | undefined): Partial<ConnectionEntity> {
  if (!u) return {};
  return { endUserId: u.id, ...(u.displayName ? { endUserName: u.displayName } : {}), ...(u.email ? { endUserEmail: u.email } : {}) };
}
