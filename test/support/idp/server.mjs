// A real OAuth 2.0 / OpenID Connect identity provider (oidc-provider 9) for the tests, in its own
// process because it is ESM-only and Jest runs CommonJS. Started by test/support/idp.ts:
//
//   node test/support/idp/server.mjs '{"port":0,"clients":[...]}'
//
// prints one line `{"issuer":"http://127.0.0.1:PORT","port":PORT}` once it listens; anything
// else goes to stderr. Control endpoints under /__test/ (stats, reset, revoke, clients) let the
// tests count token requests, revoke every grant and add clients once credman's callback is known.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { Provider } from 'oidc-provider';
import { MemoryStore } from './memoryAdapter.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const accessTokenTtl = config.accessTokenTtl ?? 60;
const refreshTokenTtl = config.refreshTokenTtl ?? 14 * 24 * 60 * 60;
const GRANTS = ['authorization_code', 'refresh_token', 'client_credentials'];

const store = new MemoryStore();
const counters = () => Object.fromEntries(GRANTS.map((g) => [g, 0]));
let stats = { token: counters(), tokenSuccess: counters(), authorize: 0 };

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(config.port ?? 0, '127.0.0.1', resolve);
});
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  adapter: store.adapter(),
  // A signing key of our own, so that oidc-provider does not fall back to its development keys.
  jwks: { keys: [{ ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // With email and profile (from `claims`), the scopes granted; others are accepted but dropped
  // from the grant and the token response, and a request left with none is access_denied.
  scopes: ['openid', 'offline_access', ...(config.scopes ?? [])],
  async findAccount(_ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, name: sub, email: `${sub}@example.test`, email_verified: true }) };
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    registration: { enabled: true, initialAccessToken: false },
    // RFC 7592: a registered client changes its own record (credman, when its public URL moves).
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
  },
  // A refresh token on every code exchange for clients allowed the grant, without offline_access.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  // Tokens outlive the browser session that created them, as at most providers.
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: accessTokenTtl,
    ClientCredentials: accessTokenTtl,
    RefreshToken: refreshTokenTtl,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    Session: 24 * 3600,
    Grant: refreshTokenTtl,
  },
});

/** Defaults that make a bare `{ client_id, grant_types, ... }` valid: no code flow, no response type. */
const clientMetadata = (client) => ({
  response_types: (client.grant_types ?? ['authorization_code']).includes('authorization_code') ? ['code'] : [],
  ...client,
});

async function putClient(client) {
  const metadata = clientMetadata(client);
  await provider.Client.validate(metadata);
  await provider.Client.adapter.upsert(metadata.client_id, metadata);
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function control(ctx) {
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /__test/stats':
      ctx.body = stats;
      return;
    case 'POST /__test/reset':
      stats = { token: counters(), tokenSuccess: counters(), authorize: 0 };
      ctx.status = 204;
      return;
    case 'POST /__test/revoke':
      store.revokeAll();
      ctx.status = 204;
      return;
    case 'POST /__test/clients':
      try {
        await putClient(JSON.parse((await readBody(ctx.req)).toString('utf8') || '{}').client);
        ctx.status = 204;
      } catch (err) {
        ctx.status = 400;
        ctx.body = { error: err.error ?? 'invalid_request', error_description: err.error_description ?? err.message };
      }
      return;
    default:
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: route };
  }
}

const path = (route) => new URL(provider.urlFor(route)).pathname;
const authorizationPath = path('authorization');
const tokenPath = path('token');
const clientAuthPaths = new Set([tokenPath, path('revocation'), path('introspection')]);
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);

/**
 * oidc-provider accepts either secret method from a client registered for one of them; many
 * providers do not, and the tests must catch a client that sends its secret the wrong way.
 */
function authMethodMismatch(authorization, params) {
  const basic = /^basic\s+(\S+)$/i.exec(authorization ?? '');
  const used = basic ? 'client_secret_basic' : params.has('client_secret') ? 'client_secret_post' : undefined;
  const clientId = basic ? decodeURIComponent(Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0].replace(/\+/g, ' ')) : params.get('client_id');
  const registered = clientId ? store.get('Client', clientId)?.token_endpoint_auth_method : undefined;
  return used && SECRET_METHODS.has(registered) && used !== registered;
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__test/')) return control(ctx);
  if (ctx.path === authorizationPath) stats.authorize += 1;
  if (ctx.method !== 'POST' || !clientAuthPaths.has(ctx.path)) return next();

  // Read the body first; oidc-provider then parses it from req.body (it warns once about that).
  const raw = await readBody(ctx.req);
  ctx.req.body = raw;
  const params = new URLSearchParams(raw.toString('utf8'));
  if (authMethodMismatch(ctx.get('authorization'), params)) {
    // The same answer as oidc-provider's own for a wrong secret.
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
    if (ctx.get('authorization')) ctx.set('www-authenticate', `Basic realm="${issuer}", error="invalid_client", error_description="client authentication failed"`);
  } else {
    await next();
  }
  const grantType = params.get('grant_type');
  if (ctx.path !== tokenPath || !grantType) return;
  stats.token[grantType] = (stats.token[grantType] ?? 0) + 1;
  if (ctx.status === 200) stats.tokenSuccess[grantType] = (stats.tokenSuccess[grantType] ?? 0) + 1;
});

for (const client of config.clients ?? []) await putClient(client);

server.on('request', provider.callback());

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
