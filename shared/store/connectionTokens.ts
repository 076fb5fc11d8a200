import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { agentTokenAccessOf, type ConnectionSealer } from './connectionSeal';
import type { ConnectionStatus, EndUser } from '../model/schemas';
import { readEntity } from './countedPartition';
import { endUserOf, grantGenerationOf, newGrantGeneration, PARAM, type ConnectionEntity } from './connections';
import { isConflict, isNotFound, isPreconditionFailed, unavailable } from './storageErrors';
import { currentWindow, secondsLeft } from '../tokens/budget';

// The token side of a connection row: current tokens (encrypted in `secrets`), the refresh lease
// and the identity-provider call window. Every write is a Replace guarded by the row's ETag, so
// the lease, the window and the tokens change together or not at all.

const ACCESS = 'token.access';
const REFRESH = 'token.refresh';
const CLAIMS = 'token.claims';

export interface StoredToken {
  accessToken: string;
  tokenType: string;
  /** Epoch ms; undefined when the provider gave no lifetime. */
  expiresAt?: number;
  obtainedAt: number;
  scope?: string;
  claims: Record<string, unknown>;
}

export interface TokenState {
  readonly providerId: string;
  readonly connectionId: string;
  readonly etag: string;
  readonly grantType: ConnectionEntity['grantType'];
  readonly parameters: Record<string, string>;
  /** Secret connection parameters (client-credentials connections may carry their own). */
  readonly secretParameters: Record<string, string>;
  readonly status: ConnectionStatus;
  readonly error?: { code: string; message: string };
  readonly token?: StoredToken;
  readonly refreshToken?: string;
  readonly refreshExpiresAt?: number;
  readonly tokenVersion: number;
  readonly lease?: { owner: string; until: number };
  readonly window: { start: number; count: number };
  /** Forced refreshes that reached the identity provider this minute. */
  readonly forcedWindow: { start: number; count: number };
  /** Which grant the tokens belong to (grantGenerationOf). */
  readonly generation: string;
  /** The administrator's switch for MCP's get_token, as verified with the envelope (none: off). */
  readonly agentTokenAccess: boolean;
  readonly lastUsedAt?: number;
  readonly consentedAt?: number;
  /** The row as read, so that an update changes only what it names. */
  readonly entity: TableEntityResult<ConnectionEntity>;
  readonly secrets: Record<string, string>;
}

export interface TokenChange {
  lease?: { owner: string; until: number } | null;
  window?: { start: number; count: number };
  forcedWindow?: { start: number; count: number };
  /** The tokens belong to a new grant (a consent): instances drop what they cached of the old one. */
  newGrant?: true;
  /** New tokens; `refreshToken: undefined` keeps the stored one (providers may not return one on refresh). */
  tokens?: { token: StoredToken; refreshToken?: string; refreshExpiresAt?: number } | null;
  status?: ConnectionStatus;
  error?: { code: string; message: string } | null;
  /** A person consented now (also counts as use). */
  consentedAt?: number;
}

export class ConnectionTokenStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: ConnectionSealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async read(providerId: string, connectionId: string): Promise<TokenState | undefined> {
    const e = await readEntity<ConnectionEntity>(this.table, providerId, connectionId);
    if (!e) return undefined;
    const secrets = await this.sealer.open(providerId, connectionId, e);
    return toState(providerId, connectionId, e, secrets);
  }

  /** Applies a change if the row still has the ETag it was read with; undefined when it has moved on (or is gone). */
  async update(state: TokenState, change: TokenChange): Promise<TokenState | undefined> {
    const { etag: _etag, timestamp: _ts, ...base } = state.entity as TableEntityResult<ConnectionEntity> & { timestamp?: string };
    const next: ConnectionEntity & { partitionKey: string; rowKey: string } = { ...base } as never;
    const drop = (k: keyof ConnectionEntity) => delete (next as Partial<ConnectionEntity>)[k];
    let secrets = state.secrets;

    if (change.lease === null) {
      drop('leaseOwner');
      drop('leaseUntil');
    } else if (change.lease) Object.assign(next, { leaseOwner: change.lease.owner, leaseUntil: change.lease.until });
    if (change.window) Object.assign(next, { windowStart: change.window.start, windowCount: change.window.count });
    if (change.forcedWindow) Object.assign(next, { forcedWindowStart: change.forcedWindow.start, forcedWindowCount: change.forcedWindow.count });
    if (change.newGrant) next.grantGeneration = newGrantGeneration();
    if (change.status) next.status = change.status;
    if (change.consentedAt !== undefined) {
      next.consentedOn = new Date(change.consentedAt).toISOString();
      next.lastUsedOn = next.consentedOn;
    }
    if (change.error === null) {
      drop('errorCode');
      drop('errorMessage');
    } else if (change.error) Object.assign(next, { errorCode: change.error.code, errorMessage: change.error.message });

    if (change.tokens === null) {
      secrets = withoutTokens(secrets);
      for (const k of ['expiresOn', 'tokenType', 'scope', 'obtainedOn', 'refreshExpiresOn'] as const) drop(k);
    } else if (change.tokens) {
      const { token, refreshToken, refreshExpiresAt } = change.tokens;
      secrets = { ...withoutTokens(secrets, refreshToken === undefined), [ACCESS]: token.accessToken, [CLAIMS]: JSON.stringify(token.claims) };
      if (refreshToken !== undefined) secrets[REFRESH] = refreshToken;
      for (const k of ['expiresOn', 'scope', 'refreshExpiresOn'] as const) drop(k);
      Object.assign(next, {
        tokenType: token.tokenType,
        obtainedOn: new Date(token.obtainedAt).toISOString(),
        tokenVersion: state.tokenVersion + 1,
        ...(token.expiresAt === undefined ? {} : { expiresOn: new Date(token.expiresAt).toISOString() }),
        ...(token.scope === undefined ? {} : { scope: token.scope }),
        ...(refreshExpiresAt !== undefined
          ? { refreshExpiresOn: new Date(refreshExpiresAt).toISOString() }
          : refreshToken === undefined && state.refreshExpiresAt !== undefined
            ? { refreshExpiresOn: new Date(state.refreshExpiresAt).toISOString() }
            : {}),
      });
    }
    if (secrets !== state.secrets) {
      drop('sealVersion');
      drop('secrets');
      // Under the row's configuration as verified when read (its switch included).
      Object.assign(next, await this.sealer.seal(state.providerId, state.connectionId, state.entity, secrets));
    }
    if (change.tokens !== undefined || change.status || change.error !== undefined) next.changedOn = this.now().toISOString();

    try {
      const r = await this.table.updateEntity(next, 'Replace', { etag: state.etag });
      this.sealer.written(state.providerId, state.connectionId, next.sealVersion);
      return toState(state.providerId, state.connectionId, { ...next, etag: r.etag as string }, secrets);
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return undefined;
      return unavailable(err);
    }
  }

  /**
   * What a lifecycle needs to know of the row without its secrets: when this connection (not an
   * earlier one with the same id) was created, its status and error. Undefined when it does not
   * exist. A few columns, nothing decrypted.
   */
  async summary(providerId: string, connectionId: string): Promise<{ createdOn: string; status: ConnectionStatus; error?: { code: string; message: string }; endUser?: EndUser } | undefined> {
    try {
      const e = await this.table.getEntity<Pick<ConnectionEntity, 'createdOn' | 'status' | 'errorCode' | 'errorMessage' | 'endUserId' | 'endUserName' | 'endUserEmail'>>(providerId, connectionId, {
        queryOptions: { select: ['createdOn', 'status', 'errorCode', 'errorMessage', 'endUserId', 'endUserName', 'endUserEmail'] },
      });
      const endUser = endUserOf(e);
      return { createdOn: e.createdOn, status: e.status, ...(e.errorCode ? { error: { code: e.errorCode, message: e.errorMessage ?? '' } } : {}), ...(endUser ? { endUser } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      return unavailable(err);
    }
  }

  /**
   * The connection's grant generation, undefined when it does not exist: a point read of two
   * columns, nothing decrypted. What an instance checks its cached token against.
   */
  async generation(providerId: string, connectionId: string): Promise<{ generation: string; createdOn: string } | undefined> {
    try {
      const e = await this.table.getEntity<Pick<ConnectionEntity, 'grantGeneration' | 'createdOn'>>(providerId, connectionId, {
        queryOptions: { select: ['grantGeneration', 'createdOn'] },
      });
      return { generation: grantGenerationOf(e), createdOn: e.createdOn };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      return unavailable(err);
    }
  }

  /**
   * Counts one forced refresh against the budget of an OAuth client of a provider, shared by every
   * instance: a row of its own in the provider's partition (its key starts with '!', so it is no
   * connection, and it goes with the partition). Returns 0 within the budget, otherwise the seconds
   * to wait (nothing counted). Contended past a few attempts, it answers "wait a second".
   */
  async takeClientBudget(providerId: string, clientId: string, limit: number, now: number): Promise<number> {
    const rowKey = `!forced.${createHash('sha256').update(clientId).digest('base64url').slice(0, 22)}`;
    for (let attempt = 0; attempt < 5; attempt++) {
      let row: { windowStart: number; windowCount: number; etag: string } | undefined;
      try {
        row = await this.table.getEntity<{ windowStart: number; windowCount: number }>(providerId, rowKey);
      } catch (err) {
        if (!isNotFound(err)) return unavailable(err);
      }
      const w = currentWindow(row && { start: row.windowStart, count: row.windowCount }, now);
      if (w.count >= limit) return secondsLeft(w, now);
      const entity = { partitionKey: providerId, rowKey, windowStart: w.start, windowCount: w.count + 1 };
      try {
        if (row) await this.table.updateEntity(entity, 'Replace', { etag: row.etag });
        else await this.table.createEntity(entity);
        return 0;
      } catch (err) {
        if (!isPreconditionFailed(err) && !isConflict(err)) return unavailable(err);
      }
    }
    return 1;
  }

  /** Records use of the connection; no ETag (a timestamp), and a vanished row is no error. */
  async touch(providerId: string, connectionId: string, at: number): Promise<void> {
    try {
      await this.table.updateEntity({ partitionKey: providerId, rowKey: connectionId, lastUsedOn: new Date(at).toISOString() }, 'Merge', { etag: '*' });
    } catch (err) {
      if (!isNotFound(err)) unavailable(err);
    }
  }
}

function withoutTokens(secrets: Record<string, string>, keepRefresh = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secrets)) if (!k.startsWith('token.') || (keepRefresh && k === REFRESH)) out[k] = v;
  return out;
}

const ms = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

function toState(providerId: string, connectionId: string, e: TableEntityResult<ConnectionEntity>, secrets: Record<string, string>): TokenState {
  const secretParameters: Record<string, string> = {};
  for (const [k, v] of Object.entries(secrets)) if (k.startsWith(PARAM)) secretParameters[k.slice(PARAM.length)] = v;
  const access = secrets[ACCESS];
  return {
    providerId,
    connectionId,
    etag: e.etag,
    grantType: e.grantType,
    parameters: JSON.parse(e.parameters) as Record<string, string>,
    secretParameters,
    status: e.status,
    ...(e.errorCode ? { error: { code: e.errorCode, message: e.errorMessage ?? '' } } : {}),
    ...(access
      ? {
          token: {
            accessToken: access,
            tokenType: e.tokenType ?? 'Bearer',
            ...(e.expiresOn ? { expiresAt: ms(e.expiresOn) } : {}),
            obtainedAt: ms(e.obtainedOn) ?? 0,
            ...(e.scope ? { scope: e.scope } : {}),
            claims: secrets[CLAIMS] ? (JSON.parse(secrets[CLAIMS]) as Record<string, unknown>) : {},
          },
        }
      : {}),
    ...(secrets[REFRESH] ? { refreshToken: secrets[REFRESH] } : {}),
    ...(e.refreshExpiresOn ? { refreshExpiresAt: ms(e.refreshExpiresOn) } : {}),
    tokenVersion: e.tokenVersion ?? 0,
    ...(e.leaseOwner && e.leaseUntil ? { lease: { owner: e.leaseOwner, until: e.leaseUntil } } : {}),
    window: { start: e.windowStart ?? 0, count: e.windowCount ?? 0 },
    forcedWindow: { start: e.forcedWindowStart ?? 0, count: e.forcedWindowCount ?? 0 },
    generation: grantGenerationOf(e),
    agentTokenAccess: agentTokenAccessOf(e),
    ...(e.lastUsedOn ? { lastUsedAt: ms(e.lastUsedOn) } : {}),
    ...(e.consentedOn ? { consentedAt: ms(e.consentedOn) } : {}),
    entity: e,
    secrets,
  };
}
