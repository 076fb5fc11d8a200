import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEV_ADMIN_OBJECT_ID, DEV_TENANT_ID } from './devIssuer';
import { CONSOLE_BASE, CONSOLE_CALLBACK } from '../shared/consolePaths';
import { DEV_AUDIENCE } from './hostSettings';

// The local OpenID Connect provider (oidc-provider, the one the tests use as an identity provider)
// on the local host at /oidc: people sign in to the console through its real login and consent
// pages with a dev account, and get JWT access tokens for the app's audience that the app checks
// with the same CallerAuthenticator as any trusted issuer. Its keys and sessions live in memory:
// a restart signs everyone out. Loaded on the first request under /oidc (a host that never
// serves the console pays nothing).

const DEV_OIDC_PATH = '/oidc';
const CONSOLE_CLIENT_ID = 'credman-console';
/** Scopes the console asks for; `credman` is the app's API (the resource DEV_AUDIENCE). */
const CONSOLE_SCOPES = 'openid profile offline_access credman';
const API_SCOPE = 'credman';

interface DevAccount {
  readonly oid: string;
  readonly name: string;
  readonly admin: boolean;
}

/** The people of `npm start`: any password signs them in. */
const DEV_ACCOUNTS: Readonly<Record<string, DevAccount>> = {
  admin: { oid: DEV_ADMIN_OBJECT_ID, name: 'Dev Admin', admin: true },
  alice: { oid: '00000000-0000-4000-8000-0000000a11ce', name: 'Alice', admin: false },
  bob: { oid: '00000000-0000-4000-8000-000000000b0b', name: 'Bob', admin: false },
};

export function devOidcIssuer(baseUrl: string): string {
  return `${baseUrl}${DEV_OIDC_PATH}`;
}

export function devOidcJwksUri(issuer: string): string {
  return `${issuer}/jwks`;
}

/** CREDMAN_CONSOLE_OIDC for the console of this host. */
export function devConsoleOidc(issuer: string): string {
  return JSON.stringify({ authority: issuer, clientId: CONSOLE_CLIENT_ID, scopes: CONSOLE_SCOPES });
}

interface Ctx {
  path: string;
  method: string;
  status: number;
  body: unknown;
  type: string;
  req: IncomingMessage & { body?: Buffer };
}

interface OidcProvider {
  use(middleware: (ctx: Ctx, next: () => Promise<void>) => Promise<void>): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}

type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

/**
 * The handler of the host server's chain for /oidc (the provider sees paths below it; it learns
 * its mount from `originalUrl`, as under Express).
 */
export function devOidcHandler(opts: ProviderOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  let handler: Promise<(req: IncomingMessage, res: ServerResponse) => void> | undefined;
  return (req, res) => {
    const url = req.url ?? '';
    if (url !== DEV_OIDC_PATH && !url.startsWith(`${DEV_OIDC_PATH}/`) && !url.startsWith(`${DEV_OIDC_PATH}?`)) return false;
    handler ??= createProvider(opts).then((p) => p.callback());
    handler.then(
      (h) => {
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
        req.url = url.slice(DEV_OIDC_PATH.length) || '/';
        h(req, res);
      },
      (err: unknown) => {
        handler = undefined;
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`The local OpenID provider did not start: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    return true;
  };
}

interface ProviderOptions {
  issuer: string;
  baseUrl: string;
  adminRole: string;
  /** Access-token lifetime in seconds. */
  tokenSeconds: number;
}

async function createProvider({ issuer, baseUrl, adminRole, tokenSeconds }: ProviderOptions): Promise<OidcProvider> {
  // ESM only (and untyped): imported as such from this CommonJS module.
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: ProviderClass };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CONSOLE_CLIENT_ID,
        token_endpoint_auth_method: 'none',
        application_type: 'web',
        // Refresh tokens renew the console's session without iframes (rotated: a public client).
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`${baseUrl}${CONSOLE_CALLBACK}`],
        post_logout_redirect_uris: [`${baseUrl}${CONSOLE_BASE}`],
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    scopes: ['openid', 'offline_access', API_SCOPE],
    pkce: { required: () => true },
    // As Entra does for a SPA that asks for offline_access: a refresh token without forcing the
    // consent prompt (oidc-provider keeps offline_access only with prompt=consent, per OpenID
    // Connect Core §11). It lasts as long as the provider's session.
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    async findAccount(_ctx: unknown, sub: string) {
      const account = DEV_ACCOUNTS[sub];
      return account && { accountId: sub, claims: async () => ({ sub, name: account.name, preferred_username: sub }) };
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => DEV_AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource !== DEV_AUDIENCE) throw new Error(`unknown resource ${resource}`);
          return { scope: API_SCOPE, audience: DEV_AUDIENCE, accessTokenTTL: tokenSeconds, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    // Shaped like Entra ID v2 access tokens (this issuer is trusted as kind `entra`): the person's
    // object id and tenant, the calling app, and the admin app role for `admin`.
    async extraTokenClaims(_ctx: unknown, token: { accountId?: string; clientId?: string }) {
      const account = token.accountId ? DEV_ACCOUNTS[token.accountId] : undefined;
      if (!account) return {};
      // `scp`: a person's delegated token, as Entra's (self-service refuses app-only tokens).
      return { oid: account.oid, tid: DEV_TENANT_ID, azp: token.clientId, scp: API_SCOPE, name: account.name, ver: '2.0', ...(account.admin ? { roles: [adminRole] } : {}) };
    },
    ttl: { AccessToken: tokenSeconds, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Session: 8 * 3600, Grant: 8 * 3600 },
  });
  provider.use(async (ctx, next) => {
    // The dev login page takes any name: only the dev accounts may sign in.
    if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      const raw = Buffer.concat(chunks);
      ctx.req.body = raw;
      const form = new URLSearchParams(raw.toString('utf8'));
      if (form.get('prompt') === 'login' && !Object.hasOwn(DEV_ACCOUNTS, form.get('login') ?? '')) {
        ctx.status = 400;
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = `<!doctype html><html lang="en"><title>Unknown account</title><p>No such dev account. Sign in as ${Object.keys(DEV_ACCOUNTS).join(', ')} (any password): go back and try again.</p></html>`;
        return;
      }
    }
    await next();
    // Its pages import a web font from the internet: a dev machine's sign-in needs no outside host.
    if (typeof ctx.body === 'string' && ctx.type.startsWith('text/html')) ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);/g, '');
  });
  return provider;
}
