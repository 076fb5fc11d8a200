import { createHash, randomBytes } from 'node:crypto';
import {
  BrowserMismatchError,
  ConnectionNotFoundError,
  type ErrorCode,
  InvalidConsentCodeError,
  InvalidStateError,
  LoginLinkUsedError,
  ProviderNotFoundError,
  SignInProviderGoneError,
  UnsupportedGrantTypeError,
  ValidationError,
} from '../errors';
import { buildAuthorizeUrl } from '../oauth/authorizeUrl';
import { resolveEndpoints } from '../oauth/endpoints';
import { LifecycleService, type ConnectionRef } from '../lifecycle/lifecycleService';
import { grantConfig, type GrantConfig } from '../oauth/grants';
import { IdpDestinationError, IdpUnavailableError, OAuthGrantError, type IdpClient } from '../oauth/idpClient';
import { codeExchangeRequest } from '../oauth/tokenRequest';
import type { TokenSet } from '../oauth/tokenResponse';
import type { ConnectionStore } from '../store/connections';
import { bindingMatches, handleHash, type ConsentRow, type ConsentStateStore } from '../store/consentStates';
import type { ProviderStore } from '../store/providers';
import type { TokenRefresher } from '../tokens/refresher';
import type { ConnectSessionRequest } from '../model/runtimeSchemas';
import type { ConnectPayload, ConnectSessions } from './connectSessions';
import { accountOf, describeRequester, type AccountField, type Requester } from './people';
import { parseRedirectUrl } from './redirects';

// The authorization-code flow (docs/oauth.md, "Consent (authorization code)"), as API Management
// runs it: a consent never commits because some browser followed a link.
// - A login link carries a random state, valid once for 10 minutes, bound server-side to
//   provider, connection, redirect URL and the admin who asked for it, with its PKCE verifier
//   sealed beside it. The first follow consumes it (ETag-guarded, one winner across instances)
//   and starts a sign-in under a new OAuth state bound to that browser by a cookie; a second
//   follower gets `LoginLinkUsed` and changes nothing.
// - The callback must come back to that browser (else `BrowserMismatch`: the code is never
//   redeemed). The tokens are then held under a consent code until the app confirms it
//   (`confirmConsentCode`, with a postLoginRedirectUrl) or the person confirms on the
//   anti-phishing page, which names connection, provider, account and requester, from the same
//   browser (a second cookie).
// - A connect session (connectSessions.ts) is a login link whose rows also carry, sealed, the
//   connection to create; it is created when the app confirms the consent code, not before.

export const CONSENT_TTL_MS = 10 * 60 * 1000;
const random = () => randomBytes(32).toString('base64url');
/** The cookie binding a sign-in under way (OAuth state) to the browser that followed the login link. */
export const bindingCookieName = (state: string): string => `credman_consent_${handleHash(state).slice(0, 16)}`;
/** The cookie binding a held consent (consent code) to the browser that completed the sign-in. */
export const confirmCookieName = (consentCode: string): string => `credman_confirm_${handleHash(consentCode).slice(0, 16)}`;

/** A cookie to set (maxAgeSeconds > 0) or clear (0), on the consent routes only. */
export interface ConsentCookie {
  name: string;
  value: string;
  maxAgeSeconds: number;
}

export type ConsentOutcome = ({ kind: 'redirect'; location: string } | { kind: 'page'; page: ConsentPage }) & {
  cookies?: ConsentCookie[];
  /** Set when the connection now holds new tokens (its lifecycle is started or woken, `connection.connected` goes out). */
  connected?: ConnectionRef;
};

export type ConsentPage =
  | {
      name: 'confirm';
      status: 200;
      consentCode: string;
      providerId: string;
      providerName: string;
      connectionId: string;
      /** What the token response says about the account used (may be empty). */
      account: AccountField[];
      /** Who asked for the login link. */
      requestedBy: string;
    }
  | { name: 'done'; status: 200; providerName: string; connectionId: string }
  | { name: 'failed'; status: number; code: ErrorCode; message: string };

export interface ConsentOptions {
  publicBaseUrl: string;
  allowedRedirectOrigins: readonly string[];
  now?: () => number;
  /** Called when a connection gets new tokens or a new status, so caches forget it. */
  onChanged?: (providerId: string, connectionId: string) => void;
  /** Connect sessions: checks a request, creates its connection after consent. */
  connect?: Pick<ConnectSessions, 'check' | 'materialize'>;
}

export class ConsentService {
  private readonly now: () => number;

  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly states: ConsentStateStore,
    private readonly refresher: TokenRefresher,
    private readonly idp: IdpClient,
    private readonly options: ConsentOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get callbackUrl(): string {
    return `${this.options.publicBaseUrl}/api/consent/callback`;
  }

  /**
   * POST …/getLoginLinks (admin). `requestedBy` is named to the person on the anti-phishing page.
   * `ownOriginOnly` (a person's self-service link): the consent code may return to credman's own
   * origin only, never to another allowed app, which could hand it to whoever asked for the link.
   */
  async getLoginLink(providerId: string, connectionId: string, requestedBy: Requester, postLoginRedirectUrl?: string, opts: { ownOriginOnly?: boolean } = {}): Promise<{ loginLink: string }> {
    const provider = await this.providers.get(providerId);
    if (!provider) throw new ProviderNotFoundError(providerId);
    const connection = await this.connections.get(providerId, connectionId);
    if (!connection) throw new ConnectionNotFoundError(providerId, connectionId);
    if (connection.grantType !== 'AuthorizationCode' || !provider.grantTypes.authorizationCode) {
      throw new UnsupportedGrantTypeError(`Connection '${connectionId}' does not use the authorization-code grant; it needs no consent.`);
    }
    // Which connection of that id: one deleted and created again before the consent ends gets nothing.
    const { link } = await this.issueLink(providerId, connectionId, postLoginRedirectUrl, { requestedBy: JSON.stringify(requestedBy), connectionCreatedOn: connection.createdOn }, opts);
    return { loginLink: link };
  }

  /**
   * POST /connectSessions (connect role): a login link for a connection that may not exist yet;
   * what to create rides sealed in the link's rows and is written only once the consent is confirmed.
   */
  async createConnectSession(req: ConnectSessionRequest, requestedBy: Requester): Promise<{ connectLink: string; expiresOn: string }> {
    if (!this.options.connect) throw new Error('Connect sessions are not wired.');
    const payload = await this.options.connect.check(req, requestedBy);
    const { link, expiresAt } = await this.issueLink(req.providerId, req.connectionId, req.postLoginRedirectUrl, { requestedBy: JSON.stringify(requestedBy), connect: JSON.stringify(payload) });
    return { connectLink: link, expiresOn: new Date(expiresAt).toISOString() };
  }

  /** A login link's state row (single use, CONSENT_TTL_MS), with a PKCE verifier and the caller's `secrets`. */
  private async issueLink(
    providerId: string,
    connectionId: string,
    postLoginRedirectUrl: string | undefined,
    secrets: Record<string, string>,
    opts: { ownOriginOnly?: boolean } = {},
  ): Promise<{ link: string; expiresAt: number }> {
    const own = new URL(this.options.publicBaseUrl).origin;
    const redirectUrl =
      postLoginRedirectUrl === undefined
        ? undefined
        : opts.ownOriginOnly
          ? parseRedirectUrl(postLoginRedirectUrl, [own], (origin) => `Its origin ${origin} is not this app's: a person's own login link returns to credman itself only.`)
          : parseRedirectUrl(postLoginRedirectUrl, [own, ...this.options.allowedRedirectOrigins]);
    const state = random();
    const expiresAt = this.now() + CONSENT_TTL_MS;
    await this.states.create(state, {
      kind: 'login',
      providerId,
      connectionId,
      ...(redirectUrl ? { redirectUrl } : {}),
      expiresAt,
      secrets: { verifier: random(), ...secrets },
    });
    return { link: `${this.options.publicBaseUrl}/api/consent/start?state=${state}`, expiresAt };
  }

  /** GET /consent/start: consumes the login link and sends this browser, bound by a cookie, to the identity provider. */
  async start(loginState: string): Promise<ConsentOutcome> {
    const row = await this.states.read(loginState, 'login');
    if (!row) throw (await this.states.kindOf(loginState)) === 'used' ? new LoginLinkUsedError() : new InvalidStateError();
    if (row.expiresAt <= this.now()) throw new InvalidStateError();
    const g = await this.authorizationCodeGrant(row.providerId);
    if (!(await this.states.consume(loginState, row))) throw new LoginLinkUsedError();

    // A new state for the identity provider: the login link's own never leaves this server again.
    const state = random();
    const binding = random();
    await this.states.create(state, {
      kind: 'flight',
      providerId: row.providerId,
      connectionId: row.connectionId,
      ...(row.redirectUrl ? { redirectUrl: row.redirectUrl } : {}),
      expiresAt: this.now() + CONSENT_TTL_MS,
      bindingHash: handleHash(binding),
      secrets: row.secrets,
    });
    const challenge = g.template.pkce === 'S256' ? createHash('sha256').update(row.secrets.verifier).digest('base64url') : undefined;
    const location = buildAuthorizeUrl(g.template, g.params, { redirectUri: this.callbackUrl, state, ...(challenge ? { codeChallenge: challenge } : {}) });
    return { kind: 'redirect', location, cookies: [{ name: bindingCookieName(state), value: binding, maxAgeSeconds: CONSENT_TTL_MS / 1000 }] };
  }

  /**
   * GET /consent/callback: in the browser that followed the link, exchange the code and hold the
   * tokens for confirmation. `cookie` reads the request's cookies.
   */
  async callback(q: { state?: string; code?: string; error?: string; iss?: string }, cookie: (name: string) => string | undefined): Promise<ConsentOutcome> {
    const state = q.state ?? '';
    const row = await this.states.read(state, 'flight');
    if (!row || row.expiresAt <= this.now()) throw new InvalidStateError();
    if (!(await this.states.take(state, row))) throw new InvalidStateError();
    const cookies = [{ name: bindingCookieName(state), value: '', maxAgeSeconds: 0 }];
    const { providerId, connectionId } = row;

    // A sign-in that comes back to another browser (the identity provider's URL forwarded
    // mid-flight): its code is never redeemed and the connection is left as it was.
    if (!bindingMatches(cookie(bindingCookieName(state)), row.bindingHash)) {
      return this.finish(
        row,
        'BrowserMismatch',
        'This sign-in finished in another browser than the one that opened the sign-in link, so nothing was connected. If someone sent you a link, ignore it; otherwise open a new link and sign in in the same browser.',
        cookies,
      );
    }
    const g = await this.authorizationCodeGrant(providerId);

    // RFC 9207: an `iss` from another server means the code came from a mixed-up flow.
    if (q.iss !== undefined && !issuerMatches(q.iss, g)) {
      return this.finish(row, 'IssuerMismatch', 'The authorization response came from another server than the one this sign-in started at.', cookies);
    }
    if (q.error !== undefined) {
      const denied = q.error === 'access_denied';
      const code = denied ? 'ConsentDenied' : 'IdentityProviderError';
      const message = denied ? 'The person declined to grant access.' : `The identity provider ended the sign-in with '${sanitize(q.error)}'.`;
      await this.recordFailure(row, code, message);
      return this.finish(row, code, message, cookies);
    }
    if (!q.code) return this.finish(row, 'InvalidRequest', 'The identity provider returned neither a code nor an error.', cookies);

    let set: TokenSet;
    try {
      const req = codeExchangeRequest(g.template, g.params, g.secrets, { code: q.code, redirectUri: this.callbackUrl, codeVerifier: row.secrets.verifier });
      set = await this.idp.requestToken(g.template, req);
    } catch (err) {
      if (err instanceof OAuthGrantError) {
        const code = err.error === 'invalid_client' ? 'ClientSecretInvalid' : 'IdentityProviderError';
        return this.finish(row, code, `The identity provider refused the authorization code (${err.error}).`, cookies);
      }
      if (err instanceof IdpUnavailableError) return this.finish(row, 'IdentityProviderError', err.message, cookies);
      // The token endpoint is not a destination credman calls: the code was never sent.
      if (err instanceof IdpDestinationError) return this.finish(row, err.code, err.message, cookies);
      throw err;
    }

    // Held, never committed here: the app confirms the code (with a redirect URL), or the person
    // on the page below, in this browser (without; only such a code has a binding).
    const consentCode = random();
    const confirmBinding = row.redirectUrl ? undefined : random();
    await this.states.create(consentCode, {
      kind: 'pending',
      providerId,
      connectionId,
      expiresAt: this.now() + CONSENT_TTL_MS,
      ...(confirmBinding ? { bindingHash: handleHash(confirmBinding) } : {}),
      secrets: {
        tokens: JSON.stringify(set),
        ...(row.secrets.connectionCreatedOn ? { connectionCreatedOn: row.secrets.connectionCreatedOn } : {}),
        // A connect session's: what to create, and who may confirm (the app that asked).
        ...(row.secrets.connect ? { connect: row.secrets.connect, requestedBy: row.secrets.requestedBy } : {}),
      },
    });
    if (row.redirectUrl) return { kind: 'redirect', location: withQuery(row.redirectUrl, { status: 'confirmationRequired', consentCode }), cookies };
    return {
      kind: 'page',
      page: {
        name: 'confirm',
        status: 200,
        consentCode,
        providerId,
        providerName: g.providerName,
        connectionId,
        account: accountOf(set),
        requestedBy: describeRequester(requesterFrom(row.secrets.requestedBy)),
      },
      cookies: [...cookies, { name: confirmCookieName(consentCode), value: confirmBinding as string, maxAgeSeconds: CONSENT_TTL_MS / 1000 }],
    };
  }

  /**
   * POST /consent/confirm: the person's answer on the anti-phishing page, accepted only from the
   * browser that completed the sign-in (a refusal takes nothing). Cancel drops the tokens.
   */
  async decide(consentCode: string, confirmed: boolean, cookie: (name: string) => string | undefined): Promise<ConsentOutcome> {
    const row = await this.states.read(consentCode, 'pending');
    if (!row || row.expiresAt <= this.now()) throw new InvalidConsentCodeError();
    if (!bindingMatches(cookie(confirmCookieName(consentCode)), row.bindingHash)) {
      throw new BrowserMismatchError();
    }
    if (!(await this.states.take(consentCode, row))) throw new InvalidConsentCodeError();
    const cookies = [{ name: confirmCookieName(consentCode), value: '', maxAgeSeconds: 0 }];
    if (!confirmed) return this.finish(row, 'ConsentNotConfirmed', 'The sign-in was cancelled; nothing was connected.', cookies);
    const connected = await this.store(row);
    const provider = await this.providers.get(row.providerId);
    return { kind: 'page', page: { name: 'done', status: 200, providerName: provider?.displayName ?? row.providerId, connectionId: row.connectionId }, connected, cookies };
  }

  /**
   * POST …/confirmConsentCode: a trusted app vouches that its signed-in user consented. An admin
   * confirms any app-confirmed code; `sessionOwner` (a connect-role caller that is no admin) only
   * those of the connect sessions it created.
   */
  async confirmConsentCode(providerId: string, connectionId: string, consentCode: string, sessionOwner?: Requester): Promise<ConnectionRef> {
    const row = await this.states.read(consentCode, 'pending');
    // A code with a browser binding is the person's, on the anti-phishing page: an admin holding it
    // (leaked from that page) must not confirm what the person has not, so it looks like any invalid
    // code; so does another app's session, or a code that is no session's, to a connect-role caller.
    if (
      !row ||
      row.bindingHash !== undefined ||
      row.providerId !== providerId ||
      row.connectionId !== connectionId ||
      row.expiresAt <= this.now() ||
      (sessionOwner && !(row.secrets.connect && sameCaller(requesterFrom(row.secrets.requestedBy), sessionOwner))) ||
      !(await this.states.take(consentCode, row))
    ) {
      throw new ValidationError('The consent code is not valid for this connection: it was already used, it expired or it belongs to another connection.', [
        { code: 'InvalidConsentCode', target: 'consentCode', message: 'Ask the person to sign in again.' },
      ]);
    }
    return this.store(row);
  }

  /** Housekeeping: removes login states, sign-ins and consent codes past their 10 minutes. */
  purgeExpired(): Promise<number> {
    return this.states.purgeExpired(this.now());
  }

  /** Stores the tokens a confirmed `pending` row held: the connection is Connected. */
  private async store(row: ConsentRow): Promise<ConnectionRef> {
    // A connect session's connection is created now, consent confirmed, not before.
    const connect = row.secrets.connect && this.options.connect;
    const connectionCreatedOn = connect ? await connect.materialize(row.providerId, row.connectionId, JSON.parse(row.secrets.connect) as ConnectPayload) : row.secrets.connectionCreatedOn;
    const createdOn = await this.refresher.store(row.providerId, row.connectionId, JSON.parse(row.secrets.tokens) as TokenSet, connectionCreatedOn);
    this.options.onChanged?.(row.providerId, row.connectionId);
    return { providerId: row.providerId, connectionId: row.connectionId, generation: LifecycleService.generationOf(createdOn) };
  }

  /** A refused sign-in is recorded on the connection; a connect session's connection that does not exist yet stays so. */
  private async recordFailure(row: ConsentRow, code: ErrorCode, message: string): Promise<void> {
    const { providerId, connectionId } = row;
    if (row.secrets.connect && !(await this.connections.get(providerId, connectionId))) return;
    await this.refresher.fail(providerId, connectionId, code, message, false, row.secrets.connectionCreatedOn);
    this.options.onChanged?.(providerId, connectionId);
  }

  private finish(row: ConsentRow, code: ErrorCode, message: string, cookies: ConsentCookie[] = []): ConsentOutcome {
    if (row.redirectUrl) return { kind: 'redirect', location: withQuery(row.redirectUrl, { status: 'error', code }), cookies };
    return { kind: 'page', page: { name: 'failed', status: 400, code, message }, cookies };
  }

  /** The grant, and the provider's name for the pages (one read of the provider). */
  private async authorizationCodeGrant(providerId: string): Promise<GrantConfig & { providerName: string }> {
    const provider = await this.providers.getWithSecrets(providerId);
    if (!provider) throw new SignInProviderGoneError();
    return { ...grantConfig(provider, 'authorizationCode'), providerName: provider.record.displayName ?? providerId };
  }
}

/** The requester stored with a login link (a row from before requesters were recorded has none). */
function requesterFrom(stored: string | undefined): Requester {
  if (!stored) return { subject: 'not recorded', issuer: 'this credman' };
  return JSON.parse(stored) as Requester;
}

const sameCaller = (a: Requester, b: Requester): boolean => a.issuer === b.issuer && a.subject === b.subject;

/** The issuer must be the server we sent the person to: its configured issuer, or the authorization endpoint's origin. */
function issuerMatches(iss: string, g: GrantConfig): boolean {
  if (g.params.issuer) return iss === g.params.issuer;
  try {
    const authorize = resolveEndpoints(g.template, g.params).authorizationUrl;
    return authorize !== undefined && new URL(iss).origin === new URL(authorize).origin;
  } catch {
    return false;
  }
}

function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

const sanitize = (s: string): string => s.replace(/[^\w.-]/g, '').slice(0, 64);
