import { createHash, randomBytes } from 'node:crypto';
import { CredmanError, NotFoundError, ValidationError } from '../errors';
import { buildAuthorizeUrl } from '../oauth/authorizeUrl';
import { resolveEndpoints } from '../oauth/endpoints';
import { LifecycleService, type ConnectionRef } from '../lifecycle/lifecycleService';
import { grantConfig, type GrantConfig } from '../oauth/grants';
import { IdpUnavailableError, OAuthGrantError, type IdpClient } from '../oauth/idpClient';
import { codeExchangeRequest } from '../oauth/tokenRequest';
import type { TokenSet } from '../oauth/tokenResponse';
import type { ConnectionStore } from '../store/connections';
import { handleHash, type ConsentRow, type ConsentStateStore } from '../store/consentStates';
import type { ProviderStore } from '../store/providers';
import type { TokenRefresher } from '../tokens/refresher';
import { parseRedirectUrl } from './redirects';

// The authorization-code flow (docs/oauth.md, "Consent (authorization code)"). A login link carries a random state, valid
// once for 10 minutes, bound server-side to provider, connection and redirect URL, with its PKCE
// verifier sealed beside it. Following the link binds it to that browser with a cookie; a
// callback arriving in another browser (a link forwarded by a phisher) holds its tokens until
// the person confirms on an anti-phishing page, or a trusted app confirms the consent code.

export const CONSENT_TTL_MS = 10 * 60 * 1000;
const random = () => randomBytes(32).toString('base64url');
export const bindingCookieName = (state: string): string => `credman_consent_${handleHash(state).slice(0, 16)}`;

export type ConsentOutcome = (
  | { kind: 'redirect'; location: string; cookie?: { name: string; value: string; maxAgeSeconds: number } }
  | { kind: 'page'; page: ConsentPage }
) & {
  /** Set when the connection now holds new tokens (its lifecycle is started or woken, `connection.connected` goes out). */
  connected?: ConnectionRef;
};

export type ConsentPage =
  | { name: 'confirm'; status: 200; consentCode: string; providerName: string; connectionId: string; redirectHost?: string }
  | { name: 'done'; status: 200; providerName: string; connectionId: string }
  | { name: 'failed'; status: number; code: string; message: string };

export interface ConsentOptions {
  publicBaseUrl: string;
  allowedRedirectOrigins: readonly string[];
  now?: () => number;
  /** Called when a connection gets new tokens or a new status, so caches forget it. */
  onChanged?: (providerId: string, connectionId: string) => void;
}

class ConsentFailure extends CredmanError {}
const invalidState = () =>
  new ConsentFailure('InvalidState', 400, 'This sign-in link is not valid: it was already used, it expired (after 10 minutes) or it was never issued. Ask for a new link.');

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

  /** POST …/getLoginLinks (admin). */
  async getLoginLink(providerId: string, connectionId: string, postLoginRedirectUrl?: string): Promise<{ loginLink: string }> {
    const provider = await this.providers.get(providerId);
    if (!provider) throw new NotFoundError('ProviderNotFound', `Credential provider '${providerId}' does not exist.`);
    const connection = await this.connections.get(providerId, connectionId);
    if (!connection) throw new NotFoundError('ConnectionNotFound', `Connection '${connectionId}' does not exist under provider '${providerId}'.`);
    if (connection.grantType !== 'AuthorizationCode' || !provider.grantTypes.authorizationCode) {
      throw new CredmanError('UnsupportedGrantType', 400, `Connection '${connectionId}' does not use the authorization-code grant; it needs no consent.`);
    }
    const redirectUrl =
      postLoginRedirectUrl === undefined
        ? undefined
        : parseRedirectUrl(postLoginRedirectUrl, [new URL(this.options.publicBaseUrl).origin, ...this.options.allowedRedirectOrigins]);
    const state = random();
    await this.states.create(state, {
      kind: 'login',
      providerId,
      connectionId,
      ...(redirectUrl ? { redirectUrl } : {}),
      expiresAt: this.now() + CONSENT_TTL_MS,
      secrets: { verifier: random() },
    });
    return { loginLink: `${this.options.publicBaseUrl}/api/consent/start?state=${state}` };
  }

  /** GET /consent/start: to the identity provider, binding the flow to this browser. */
  async start(state: string): Promise<ConsentOutcome> {
    const row = await this.states.read(state, 'login');
    if (!row || row.expiresAt <= this.now()) throw invalidState();
    const g = await this.authorizationCodeGrant(row.providerId);
    const challenge = g.template.pkce === 'S256' ? createHash('sha256').update(row.secrets.verifier).digest('base64url') : undefined;
    const location = buildAuthorizeUrl(g.template, g.params, { redirectUri: this.callbackUrl, state, ...(challenge ? { codeChallenge: challenge } : {}) });
    const binding = random();
    if (!(await this.states.bind(state, row, handleHash(binding)))) throw invalidState();
    return {
      kind: 'redirect',
      location,
      cookie: { name: bindingCookieName(state), value: binding, maxAgeSeconds: Math.ceil((row.expiresAt - this.now()) / 1000) },
    };
  }

  /** GET /consent/callback: exchange the code; store, or hold for confirmation. */
  async callback(q: { state?: string; code?: string; error?: string; iss?: string }, bindingCookie: string | undefined): Promise<ConsentOutcome> {
    const state = q.state ?? '';
    const row = await this.states.read(state, 'login');
    if (!row || row.expiresAt <= this.now()) throw invalidState();
    if (!(await this.states.take(state, row))) throw invalidState();
    const { providerId, connectionId } = row;
    const g = await this.authorizationCodeGrant(providerId);

    // RFC 9207: an `iss` from another server means the code came from a mixed-up flow.
    if (q.iss !== undefined && !issuerMatches(q.iss, g)) {
      return this.finish(row, 'IssuerMismatch', 'The authorization response came from another server than the one this sign-in started at.');
    }
    if (q.error !== undefined) {
      const denied = q.error === 'access_denied';
      const code = denied ? 'ConsentDenied' : 'IdentityProviderError';
      const message = denied ? 'The person declined to grant access.' : `The identity provider ended the sign-in with '${sanitize(q.error)}'.`;
      await this.refresher.fail(providerId, connectionId, code, message, false);
      this.options.onChanged?.(providerId, connectionId);
      return this.finish(row, code, message);
    }
    if (!q.code) return this.finish(row, 'InvalidRequest', 'The identity provider returned neither a code nor an error.');

    let set: TokenSet;
    try {
      const req = codeExchangeRequest(g.template, g.params, g.secrets, { code: q.code, redirectUri: this.callbackUrl, codeVerifier: row.secrets.verifier });
      set = await this.idp.requestToken(g.template, req);
    } catch (err) {
      if (err instanceof OAuthGrantError) {
        const code = err.error === 'invalid_client' ? 'ClientSecretInvalid' : 'IdentityProviderError';
        return this.finish(row, code, `The identity provider refused the authorization code (${err.error}).`);
      }
      if (err instanceof IdpUnavailableError) return this.finish(row, 'IdentityProviderError', err.message);
      throw err;
    }

    const bound = bindingCookie !== undefined && row.bindingHash !== undefined && handleHash(bindingCookie) === row.bindingHash;
    if (bound) return this.commit(row, set);

    const consentCode = random();
    await this.states.create(consentCode, {
      kind: 'pending',
      providerId,
      connectionId,
      ...(row.redirectUrl ? { redirectUrl: row.redirectUrl } : {}),
      expiresAt: this.now() + CONSENT_TTL_MS,
      secrets: { tokens: JSON.stringify(set) },
    });
    if (row.redirectUrl) return { kind: 'redirect', location: withQuery(row.redirectUrl, { status: 'confirmationRequired', consentCode }) };
    const provider = await this.providers.get(providerId);
    return {
      kind: 'page',
      page: { name: 'confirm', status: 200, consentCode, providerName: provider?.displayName ?? providerId, connectionId },
    };
  }

  /** POST /consent/confirm: the person's answer on the anti-phishing page. Cancel drops the tokens. */
  async decide(consentCode: string, confirmed: boolean): Promise<ConsentOutcome> {
    const row = await this.takePending(consentCode);
    if (!row) throw new ConsentFailure('InvalidConsentCode', 400, 'This confirmation is not valid: it was already used or it expired.');
    if (!confirmed) return this.finish(row, 'ConsentNotConfirmed', 'The sign-in was cancelled; nothing was connected.');
    return this.commit(row, JSON.parse(row.secrets.tokens) as TokenSet);
  }

  /** POST …/confirmConsentCode (admin): a trusted app vouches that its signed-in user consented. */
  async confirmConsentCode(providerId: string, connectionId: string, consentCode: string): Promise<ConnectionRef> {
    const row = await this.states.read(consentCode, 'pending');
    if (!row || row.providerId !== providerId || row.connectionId !== connectionId || row.expiresAt <= this.now() || !(await this.states.take(consentCode, row))) {
      throw new ValidationError('The consent code is not valid for this connection: it was already used, it expired or it belongs to another connection.', [
        { code: 'InvalidConsentCode', target: 'consentCode', message: 'Ask the person to sign in again.' },
      ]);
    }
    const createdOn = await this.refresher.store(providerId, connectionId, JSON.parse(row.secrets.tokens) as TokenSet);
    this.options.onChanged?.(providerId, connectionId);
    return { providerId, connectionId, generation: LifecycleService.generationOf(createdOn) };
  }

  /** Housekeeping: removes login states and consent codes past their 10 minutes. */
  purgeExpired(): Promise<number> {
    return this.states.purgeExpired(this.now());
  }

  private async takePending(consentCode: string): Promise<ConsentRow | undefined> {
    const row = await this.states.read(consentCode, 'pending');
    if (!row || row.expiresAt <= this.now() || !(await this.states.take(consentCode, row))) return undefined;
    return row;
  }

  private async commit(row: ConsentRow, set: TokenSet): Promise<ConsentOutcome> {
    const createdOn = await this.refresher.store(row.providerId, row.connectionId, set);
    this.options.onChanged?.(row.providerId, row.connectionId);
    const connected: ConnectionRef = { providerId: row.providerId, connectionId: row.connectionId, generation: LifecycleService.generationOf(createdOn) };
    if (row.redirectUrl) return { kind: 'redirect', location: withQuery(row.redirectUrl, { status: 'success' }), connected };
    const provider = await this.providers.get(row.providerId);
    return { kind: 'page', page: { name: 'done', status: 200, providerName: provider?.displayName ?? row.providerId, connectionId: row.connectionId }, connected };
  }

  private finish(row: ConsentRow, code: string, message: string): ConsentOutcome {
    if (row.redirectUrl) return { kind: 'redirect', location: withQuery(row.redirectUrl, { status: 'error', code }) };
    return { kind: 'page', page: { name: 'failed', status: 400, code, message } };
  }

  private async authorizationCodeGrant(providerId: string): Promise<GrantConfig> {
    const provider = await this.providers.getWithSecrets(providerId);
    if (!provider) throw new ConsentFailure('ProviderNotFound', 404, 'The credential provider of this sign-in no longer exists.');
    return grantConfig(provider, 'authorizationCode');
  }
}

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
