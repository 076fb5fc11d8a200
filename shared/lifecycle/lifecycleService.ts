import { CredmanError } from '../errors';
import { findTemplate } from '../oauth/catalogue';
import type { ConnectionTokenStore } from '../store/connectionTokens';
import type { ProviderStore } from '../store/providers';
import type { TokenService } from '../tokens/tokenService';
import { planLifecycle, type LifecycleSettings, type Plan, type Warning } from './plan';
import type { ConnectionLifecycle, EndUser } from '../model/schemas';

// The activities of a connection's lifecycle orchestration: each is one call here. Evaluation
// reads the row and the provider and plans; refreshing goes through the token service's single
// flight and the row lease, so the lifecycle and the token endpoint never refresh twice.
//
// A lifecycle belongs to one generation of its connection (the row's createdOn): a connection
// deleted and created again under the same id is another generation, with a lifecycle of its own
// (the generation is part of the instance id). Termination is queued, so a deleted connection's
// lifecycle may still run an episode; its activities then do nothing: the evaluation says stop, a
// refresh says gone, notices are not sent.

export interface Evaluation {
  plan: Plan;
  warnings: Warning[];
  /** The token version seen: a refresh ahead is satisfied by anything newer (another instance's). */
  tokenVersion: number;
  /** How often to repeat the reauthorization notice while waiting for consent. */
  reminderMs: number;
}

export type RefreshOutcome = 'refreshed' | 'ReauthorizationRequired' | 'ClientSecretInvalid' | 'gone';

/** One generation of a connection: what a lifecycle serves, named by whoever just wrote or deleted it. */
export interface ConnectionRef {
  providerId: string;
  connectionId: string;
  generation: string;
}

/** A connection deleted: which generation, and its end user for `connection.deleted`. */
export type DeletedConnection = ConnectionRef & { endUser?: EndUser };

export interface Notice {
  type: string;
  providerId: string;
  connectionId: string;
  detail?: string;
  /** The generation the notice is about; a notice for another (or a deleted) connection is not sent. */
  generation: string;
  /** connection.deleted: the end user of the connection that is gone (the others read it from the connection). */
  endUser?: EndUser;
}

/** Published after the connection is gone: the only notice not tied to a live connection. */
const DELETED = 'connection.deleted';

/** Where notices go: the webhook publisher, and the log. */
export interface NoticePublisher {
  /** Never rejects; `error` says the subscriptions could not be read (nothing was sent). */
  publish(event: {
    type: string;
    data: { providerId: string; connectionId?: string; status?: string; error?: { code: string; message: string }; endUser?: EndUser };
  }): Promise<{ error?: { cause: unknown } }>;
}

const time = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};

export class LifecycleService {
  constructor(
    private readonly providers: ProviderStore,
    private readonly tokens: ConnectionTokenStore,
    private readonly tokenService: TokenService,
    private readonly settings: LifecycleSettings & { reminderMs: number },
    private readonly publisher: NoticePublisher,
    private readonly log: (message: string) => void,
  ) {}

  /**
   * A connection's generation, from its createdOn: epoch milliseconds in base 36 (8 characters).
   * The one place it is derived; whoever writes or deletes a connection names it with this.
   */
  static generationOf(createdOn: string): string {
    const t = Date.parse(createdOn);
    return Number.isFinite(t) ? t.toString(36) : createdOn.replace(/[^A-Za-z0-9]/g, '').slice(0, 40) || '0';
  }

  /**
   * The lifecycle's instance id: one per generation of a connection, so a connection created again
   * under the same id never waits for (or is mistaken for) its predecessor's lifecycle. Identifiers
   * hold no ':', so the id is unambiguous; at most 10 + 80 + 1 + 80 + 1 + 40 characters, within
   * the extension's 256, with none of the characters it refuses (/ \ ? # and control characters).
   */
  static instanceId(providerId: string, connectionId: string, generation: string): string {
    return `lifecycle:${providerId}:${connectionId}:${generation}`;
  }

  async evaluate(providerId: string, connectionId: string, now: number, generation: string): Promise<Evaluation> {
    const state = await this.tokens.read(providerId, connectionId);
    const provider = state && serves(generation, state.entity.createdOn) ? await this.providers.get(providerId) : undefined;
    const reminderMs = this.settings.reminderMs;
    if (!state || !provider) return { plan: { kind: 'stop' }, warnings: [], tokenVersion: 0, reminderMs };
    const template = findTemplate(provider.identityProvider);
    const policy = template?.refreshToken;
    const grant = state.grantType === 'AuthorizationCode' ? 'authorizationCode' : 'clientCredentials';
    // The template's absolute lifetime applies to a refresh token the provider issued, not to
    // consent that brought none (a GitHub OAuth App's token never ends: nothing to warn about).
    const absoluteEnd =
      state.refreshExpiresAt ?? (policy?.absoluteLifetimeSeconds && state.consentedAt && state.refreshToken !== undefined ? state.consentedAt + policy.absoluteLifetimeSeconds * 1000 : undefined);
    const secretEnd = time(state.parameters.clientSecretExpiresOn ?? provider.grantTypes[grant]?.clientSecretExpiresOn);
    const used = [state.lastUsedAt, state.consentedAt].filter((t): t is number => t !== undefined);
    const { plan, warnings } = planLifecycle(
      {
        status: state.status,
        ...(state.error ? { errorCode: state.error.code } : {}),
        grantType: state.grantType,
        ...(state.token ? { token: { obtainedAt: state.token.obtainedAt, ...(state.token.expiresAt === undefined ? {} : { expiresAt: state.token.expiresAt }) } } : {}),
        hasRefreshToken: state.refreshToken !== undefined,
        ...(absoluteEnd === undefined ? {} : { refreshTokenEndsAt: absoluteEnd }),
        ...(policy?.idleLifetimeSeconds ? { idleLifetimeMs: policy.idleLifetimeSeconds * 1000 } : {}),
        ...(state.token ? { refreshTokenUsedAt: state.token.obtainedAt } : {}),
        ...(used.length ? { lastUsedAt: Math.max(...used) } : {}),
        ...(secretEnd === undefined ? {} : { clientSecretEndsAt: secretEnd }),
      },
      this.settings,
      now,
    );
    return { plan, warnings, tokenVersion: state.tokenVersion, reminderMs };
  }

  /** What the lifecycle of a connection does next, for people to read (GET of one connection). */
  async outlook(providerId: string, connectionId: string, createdOn: string, now = Date.now()): Promise<ConnectionLifecycle> {
    const { plan } = await this.evaluate(providerId, connectionId, now, LifecycleService.generationOf(createdOn));
    switch (plan.kind) {
      case 'sleep':
        return { action: 'sleep', wakeOn: new Date(plan.until).toISOString(), reason: plan.reason };
      case 'refresh':
        return { action: 'refresh', reason: plan.reason };
      default:
        return { action: plan.kind };
    }
  }

  /**
   * Publishes a lifecycle notice with the connection's current status, and logs it. Throws what
   * kept the subscriptions from being read (nothing was sent), so that the orchestration's retries
   * and fault policy apply (deliveries that fail are retried inside).
   */
  async notify(n: Notice): Promise<void> {
    let about: { status?: string; error?: { code: string; message: string }; endUser?: EndUser } = n.endUser ? { endUser: n.endUser } : {};
    if (n.type !== DELETED) {
      // Status and error only: nothing decrypted, so a notice goes out even when the tokens cannot be read.
      const row = await this.tokens.summary(n.providerId, n.connectionId);
      if (!row || !serves(n.generation, row.createdOn)) {
        this.log(`lifecycle: ${n.type} ${n.providerId}/${n.connectionId} not sent: the connection it was about is gone`);
        return;
      }
      about = { status: row.status, ...(row.error ? { error: row.error } : {}), ...(row.endUser ? { endUser: row.endUser } : {}) };
    }
    const error = about.error ?? (n.detail ? { code: n.type, message: n.detail } : undefined);
    const report = await this.publisher.publish({
      type: n.type,
      data: {
        providerId: n.providerId,
        connectionId: n.connectionId,
        ...(about.status ? { status: about.status } : {}),
        ...(error ? { error } : {}),
        ...(about.endUser ? { endUser: about.endUser } : {}),
      },
    });
    // Nothing was sent: the failure itself goes to the orchestration, whose fault policy says
    // whether it is worth trying again (storage away is; a secret that does not open is not).
    if (report.error !== undefined) throw report.error.cause;
    this.log(`lifecycle: ${n.type} ${n.providerId}/${n.connectionId}${n.detail ? ` (${n.detail})` : ''}`);
  }

  /**
   * Refreshes ahead of need. Transient failures throw (the orchestration retries them with its
   * RetryOptions); what needs a person or an admin is an outcome, not an error.
   */
  async refresh(providerId: string, connectionId: string, knownVersion: number, generation: string): Promise<RefreshOutcome> {
    const row = await this.tokens.summary(providerId, connectionId);
    if (!row || !serves(generation, row.createdOn)) return 'gone';
    try {
      await this.tokenService.refreshAhead(providerId, connectionId, knownVersion);
      return 'refreshed';
    } catch (err) {
      if (err instanceof CredmanError) {
        if (err.code === 'ReauthorizationRequired' || err.code === 'ClientSecretInvalid') return err.code;
        if (err.status === 404 || err.code === 'ConnectionNotConnected') return 'gone';
      }
      throw err;
    }
  }
}

/** Whether a lifecycle (or a notice) of `generation` is about the row created at `createdOn`. */
function serves(generation: string, createdOn: string): boolean {
  return generation === LifecycleService.generationOf(createdOn);
}
