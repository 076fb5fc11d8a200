import { CredmanError } from '../errors';
import { findTemplate } from '../oauth/catalogue';
import type { ConnectionTokenStore, TokenState } from '../store/connectionTokens';
import type { ProviderStore } from '../store/providers';
import type { TokenService } from '../tokens/tokenService';
import { planLifecycle, type LifecycleSettings, type Plan, type Warning } from './plan';

// The activities of a connection's lifecycle orchestration: each is one call here. Evaluation
// reads the row and the provider and plans; refreshing goes through the token service's single
// flight and the row lease, so the lifecycle and the token endpoint never refresh twice.
//
// A lifecycle belongs to one generation of its connection (the row's createdOn): a connection
// deleted and created again under the same id is another generation. Termination is queued, so a
// deleted connection's lifecycle may still run an episode; its activities then do nothing: the
// evaluation says stop, a refresh says gone, notices are not sent.

export interface Evaluation {
  plan: Plan;
  warnings: Warning[];
  /** The token version seen: a refresh ahead is satisfied by anything newer (another instance's). */
  tokenVersion: number;
  /** How often to repeat the reauthorization notice while waiting for consent. */
  reminderMs: number;
  /** The connection's generation (absent when it is gone). */
  generation?: string;
}

export type RefreshOutcome = 'refreshed' | 'ReauthorizationRequired' | 'ClientSecretInvalid' | 'gone';

export interface Notice {
  type: string;
  providerId: string;
  connectionId: string;
  detail?: string;
  /** The generation the notice is about; a notice for another (or a deleted) connection is not sent. */
  generation?: string;
}

/** Published after the connection is gone: the only notice not tied to a live connection. */
const DELETED = 'connection.deleted';

/** Where notices go: the webhook publisher, and the log. */
export interface NoticePublisher {
  publish(event: { type: string; data: { providerId: string; connectionId?: string; status?: string; error?: { code: string; message: string } } }): Promise<unknown>;
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

  /** The lifecycle's instance id: one per connection, derived, so starting twice finds the same one. */
  static instanceId(providerId: string, connectionId: string): string {
    return `lifecycle:${providerId}:${connectionId}`;
  }

  /** The connection's current generation; undefined when it does not exist. */
  generation(providerId: string, connectionId: string): Promise<string | undefined> {
    return this.tokens.generation(providerId, connectionId);
  }

  async evaluate(providerId: string, connectionId: string, now: number, generation?: string): Promise<Evaluation> {
    const state = await this.tokens.read(providerId, connectionId);
    const current = state && generationOf(state);
    const provider = state && (generation === undefined || generation === current) ? await this.providers.get(providerId) : undefined;
    const reminderMs = this.settings.reminderMs;
    if (!state || !provider) return { plan: { kind: 'stop' }, warnings: [], tokenVersion: 0, reminderMs };
    const template = findTemplate(provider.identityProvider);
    const policy = template?.refreshToken;
    const grant = state.grantType === 'AuthorizationCode' ? 'authorizationCode' : 'clientCredentials';
    // The template's absolute lifetime applies to a refresh token the provider issued, not to
    // consent that brought none (a GitHub OAuth App's token never ends: nothing to warn about).
    const absoluteEnd =
      state.refreshExpiresAt ??
      (policy?.absoluteLifetimeSeconds && state.consentedAt && state.refreshToken !== undefined
        ? state.consentedAt + policy.absoluteLifetimeSeconds * 1000
        : undefined);
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
    return { plan, warnings, tokenVersion: state.tokenVersion, reminderMs, ...(current === undefined ? {} : { generation: current }) };
  }

  /** Publishes a lifecycle notice with the connection's current status, and logs it. */
  async notify(n: Notice): Promise<void> {
    const state = await this.tokens.read(n.providerId, n.connectionId);
    if (n.type !== DELETED && (!state || (n.generation !== undefined && generationOf(state) !== n.generation))) {
      this.log(`lifecycle: ${n.type} ${n.providerId}/${n.connectionId} not sent: the connection it was about is gone`);
      return;
    }
    const error = state?.error ?? (n.detail ? { code: n.type, message: n.detail } : undefined);
    this.log(`lifecycle: ${n.type} ${n.providerId}/${n.connectionId}${n.detail ? ` (${n.detail})` : ''}`);
    await this.publisher.publish({
      type: n.type,
      data: { providerId: n.providerId, connectionId: n.connectionId, ...(state ? { status: state.status } : {}), ...(error ? { error } : {}) },
    });
  }

  /**
   * Refreshes ahead of need. Transient failures throw (the orchestration retries them with its
   * RetryOptions); what needs a person or an admin is an outcome, not an error.
   */
  async refresh(providerId: string, connectionId: string, knownVersion: number, generation?: string): Promise<RefreshOutcome> {
    if (generation !== undefined && (await this.tokens.generation(providerId, connectionId)) !== generation) return 'gone';
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

const generationOf = (state: TokenState): string | undefined => state.entity.createdOn;
