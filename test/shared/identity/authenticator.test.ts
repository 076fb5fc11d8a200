import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Settings } from '../../../shared/settings';
import { requirePerson, requireRole, type Caller } from '../../../shared/identity/caller';
import { CallerAuthenticator, type AuthLogEvent, type CallerAuthenticatorOptions } from '../../../shared/identity/authenticator';
import { DEV_ADMIN_OBJECT_ID, DEV_CLIENT_APP_ID, DEV_TENANT_ID, DevIssuer, devIssuerJwksUri } from '../../../local/devIssuer';
import { DEV_AUDIENCE } from '../../../local/hostSettings';

// Real parts only: jose against JWKS served by a loopback HTTP server, tokens minted by the dev
// issuer or crafted by hand. Time moves through the authenticator's injected clock.

const SKEW = 60;
const OTHER_AUDIENCE = 'api://credman-other';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

let server: Server;
let base: string;
let dir: string;
let issuerA: DevIssuer; // trusted, audience DEV_AUDIENCE
let issuerB: DevIssuer; // trusted, audience OTHER_AUDIENCE only
let stranger: DevIssuer; // claims to be A, signs with a key A never published
let issuerC: DevIssuer; // trusted as a plain OpenID issuer (kind oidc): workloads, never people
let issuerD: DevIssuer; // kind oidc, trusted for people
const fetches: Record<string, number> = {};
const hanging: Array<() => void> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'credman-auth-'));
  server = createServer((req, res) => {
    const path = req.url ?? '';
    fetches[path] = (fetches[path] ?? 0) + 1;
    const jwks = path === '/a/jwks.json' ? issuerA.jwks() : path === '/b/jwks.json' ? issuerB.jwks() : path === '/c/jwks.json' ? issuerC.jwks() : path === '/d/jwks.json' ? issuerD.jwks() : undefined;
    if (jwks) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    if (path === '/hang/jwks.json') return void hanging.push(() => res.destroy());
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuerA = await DevIssuer.loadOrCreate(join(dir, 'a'), `${base}/a`);
  issuerB = await DevIssuer.loadOrCreate(join(dir, 'b'), `${base}/b`);
  stranger = await DevIssuer.loadOrCreate(join(dir, 'stranger'), `${base}/a`);
  issuerC = await DevIssuer.loadOrCreate(join(dir, 'c'), `${base}/c`);
  issuerD = await DevIssuer.loadOrCreate(join(dir, 'd'), `${base}/d`);
});

afterAll(async () => {
  hanging.forEach((end) => end());
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function auth(): Settings['auth'] {
  return {
    issuers: [
      { issuer: issuerA.issuer, jwksUri: devIssuerJwksUri(issuerA.issuer), audiences: [DEV_AUDIENCE], kind: 'entra' },
      { issuer: issuerB.issuer, jwksUri: devIssuerJwksUri(issuerB.issuer), audiences: [OTHER_AUDIENCE], kind: 'entra' },
      { issuer: issuerC.issuer, jwksUri: devIssuerJwksUri(issuerC.issuer), audiences: [DEV_AUDIENCE], kind: 'oidc' },
      { issuer: issuerD.issuer, jwksUri: devIssuerJwksUri(issuerD.issuer), audiences: [DEV_AUDIENCE], kind: 'oidc', people: true },
      { issuer: `${base}/broken`, jwksUri: `${base}/broken/jwks.json`, audiences: [DEV_AUDIENCE] },
      { issuer: `${base}/hang`, jwksUri: `${base}/hang/jwks.json`, audiences: [DEV_AUDIENCE] },
    ],
    adminRole: 'Credman.Admin',
    connectRole: 'Credman.Connect',
    clockSkewSeconds: SKEW,
  };
}

/** An authenticator whose clock runs `offsetSeconds` from real time, collecting its log. */
function make(offsetSeconds = 0, options: CallerAuthenticatorOptions = {}) {
  const log: AuthLogEvent[] = [];
  const clock = { offsetSeconds };
  const authenticator = new CallerAuthenticator(auth(), {
    logger: (e) => log.push(e),
    jwksTimeoutMs: 300,
    now: () => Date.now() + clock.offsetSeconds * 1000,
    ...options,
  });
  return { authenticator, log, clock };
}

async function hs256WithPublicKey(secret: string | Buffer): Promise<string> {
  const h = b64({ alg: 'HS256', typ: 'JWT', kid: issuerA.kid });
  const p = b64(JSON.parse(Buffer.from((await issuerA.mint({ admin: true })).split('.')[1], 'base64url').toString()));
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

const publicPem = () =>
  createPublicKey({ key: issuerA.jwks().keys[0] as JsonWebKey, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();

const now = () => Math.floor(Date.now() / 1000);

type Case = {
  name: string;
  header: () => Promise<string | null | undefined>;
  offsetSeconds?: number;
  message?: 'missing' | 'invalid' | 'expired';
  logged?: string;
};

const REJECTED: Case[] = [
  { name: 'no header', header: async () => undefined, message: 'missing' },
  { name: 'null header', header: async () => null, message: 'missing' },
  { name: 'empty header', header: async () => '  ', message: 'missing' },
  { name: 'Basic scheme', header: async () => 'Basic dXNlcjpwYXNz', message: 'invalid' },
  { name: 'Bearer without token', header: async () => 'Bearer ', message: 'invalid' },
  { name: 'token without scheme', header: async () => issuerA.mint({ admin: true }), message: 'invalid' },
  { name: 'garbage', header: async () => 'Bearer not-a-jwt', message: 'invalid' },
  { name: 'three garbage parts', header: async () => 'Bearer abc.def.ghi', message: 'invalid' },
  {
    name: 'alg none',
    header: async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: issuerA.issuer, aud: DEV_AUDIENCE, sub: 'x', exp: now() + 600, roles: ['Credman.Admin'] })}.`,
    message: 'invalid',
  },
  { name: 'HS256 keyed with the public PEM', header: async () => `Bearer ${await hs256WithPublicKey(publicPem())}`, message: 'invalid' },
  {
    name: 'HS256 keyed with the public JWK',
    header: async () => `Bearer ${await hs256WithPublicKey(JSON.stringify(issuerA.jwks().keys[0]))}`,
    message: 'invalid',
  },
  { name: 'wrong audience', header: async () => `Bearer ${await issuerA.mint({ audience: OTHER_AUDIENCE })}`, message: 'invalid' },
  { name: 'another issuer audience', header: async () => `Bearer ${await issuerB.mint()}`, message: 'invalid' },
  {
    name: 'untrusted issuer',
    header: async () => `Bearer ${await stranger.signClaims({ iss: 'https://evil.example', aud: DEV_AUDIENCE, sub: 'x', exp: now() + 600 })}`,
    message: 'invalid',
  },
  { name: 'unknown kid', header: async () => `Bearer ${await stranger.mint({ admin: true })}`, message: 'invalid' },
  {
    name: 'trusted issuer, signed by another',
    header: async () => `Bearer ${await issuerB.signClaims({ iss: issuerA.issuer, aud: DEV_AUDIENCE, sub: 'x', exp: now() + 600 })}`,
    message: 'invalid',
  },
  { name: 'no exp', header: async () => `Bearer ${await issuerA.signClaims({ iss: issuerA.issuer, aud: DEV_AUDIENCE, sub: 'x' })}`, message: 'invalid' },
  { name: 'no sub', header: async () => `Bearer ${await issuerA.signClaims({ iss: issuerA.issuer, aud: DEV_AUDIENCE, exp: now() + 600 })}`, message: 'invalid' },
  { name: 'expired beyond skew', header: async () => `Bearer ${await issuerA.mint({ ttlSeconds: 600 })}`, offsetSeconds: 600 + SKEW + 5, message: 'expired' },
  { name: 'nbf beyond skew', header: async () => `Bearer ${await issuerA.mint()}`, offsetSeconds: -(SKEW + 5), message: 'invalid' },
  {
    name: 'issuer JWKS answers 500',
    header: async () => `Bearer ${await issuerA.signClaims({ iss: `${base}/broken`, aud: DEV_AUDIENCE, sub: 'x', exp: now() + 600 })}`,
    message: 'invalid',
    logged: 'JwksUnavailable',
  },
  {
    name: 'issuer JWKS times out',
    header: async () => `Bearer ${await issuerA.signClaims({ iss: `${base}/hang`, aud: DEV_AUDIENCE, sub: 'x', exp: now() + 600 })}`,
    message: 'invalid',
    logged: 'JwksUnavailable',
  },
];

const MESSAGES = { missing: 'A bearer token is required.', invalid: 'The bearer token is invalid.', expired: 'The bearer token has expired.' };

describe('CallerAuthenticator', () => {
  it('accepts a valid admin token and maps the caller', async () => {
    const { authenticator } = make();
    const token = await issuerA.mint({ admin: true, groups: ['11111111-1111-4111-8111-111111111111'] });
    const caller = await authenticator.authenticate(`Bearer ${token}`);
    expect(caller).toEqual<Caller>({
      issuer: issuerA.issuer,
      subject: DEV_ADMIN_OBJECT_ID,
      tenantId: DEV_TENANT_ID,
      objectId: DEV_ADMIN_OBJECT_ID,
      appId: DEV_CLIENT_APP_ID,
      roles: ['Credman.Admin'],
      groups: ['11111111-1111-4111-8111-111111111111'],
    });
    expect(() => authenticator.requireAdmin(caller)).not.toThrow();
    await expect(authenticator.authenticate(`bearer ${token}`)).resolves.toBe(caller); // scheme is case-insensitive
  });

  it('maps a v1 `appid` and tolerates absent Entra claims', async () => {
    const { authenticator } = make();
    const token = await issuerA.signClaims({ iss: issuerA.issuer, aud: DEV_AUDIENCE, sub: 'system:serviceaccount:ns:sa', appid: 'app-1', exp: now() + 600 });
    expect(await authenticator.authenticate(`Bearer ${token}`)).toEqual({
      issuer: issuerA.issuer,
      subject: 'system:serviceaccount:ns:sa',
      appId: 'app-1',
      roles: [],
      groups: [],
      appOnly: true,
    });
  });

  it("tells a person's delegated token from an application's own", async () => {
    const { authenticator } = make();
    const person = await authenticator.authenticate(`Bearer ${await issuerA.mint({ oid: '33333333-3333-4333-8333-333333333333' })}`);
    expect(person.appOnly).toBeUndefined();
    expect(() => requirePerson(person)).not.toThrow();
    const entraApps = [
      await issuerA.mint({ scopes: null }), // idtyp: app, no scp
      await issuerA.signClaims({ iss: issuerA.issuer, aud: DEV_AUDIENCE, sub: 'x', oid: '44444444-4444-4444-8444-444444444444', tid: DEV_TENANT_ID, exp: now() + 600 }), // no scp
      await issuerA.signClaims({ iss: issuerA.issuer, aud: DEV_AUDIENCE, sub: 'x', scp: 'a', idtyp: 'app', exp: now() + 600 }), // idtyp wins
    ];
    // An issuer trusted for people still marks client credentials: RFC 9068 (sub = client_id), Auth0 (gty), Okta (cid = sub).
    const oidcApps = [
      await issuerD.signClaims({ iss: issuerD.issuer, aud: DEV_AUDIENCE, sub: 'svc', client_id: 'svc', exp: now() + 600 }),
      await issuerD.signClaims({ iss: issuerD.issuer, aud: DEV_AUDIENCE, sub: 'svc@clients', gty: 'client-credentials', exp: now() + 600 }),
      await issuerD.signClaims({ iss: issuerD.issuer, aud: DEV_AUDIENCE, sub: 'svc', cid: 'svc', exp: now() + 600 }),
      // An issuer not trusted for people: even a token that looks delegated.
      await issuerC.signClaims({ iss: issuerC.issuer, aud: DEV_AUDIENCE, sub: 'alice', client_id: 'svc', exp: now() + 600 }),
    ];
    for (const token of [...entraApps, ...oidcApps]) {
      const caller = await authenticator.authenticate(`Bearer ${token}`);
      expect(caller.appOnly).toBe(true);
      expect(() => requirePerson(caller)).toThrow(expect.objectContaining({ code: 'Forbidden', status: 403 }));
    }
    const oidcPerson = await authenticator.authenticate(`Bearer ${await issuerD.signClaims({ iss: issuerD.issuer, aud: DEV_AUDIENCE, sub: 'alice', client_id: 'svc', exp: now() + 600 })}`);
    expect(oidcPerson).toEqual({ issuer: issuerD.issuer, subject: 'alice', roles: [], groups: [] });
  });

  // Review: the non-Entra issuers credman trusts are workload issuers (Kubernetes, GitHub Actions);
  // their tokens carry no client_id, so sub === client_id never holds and a workload counts as a person.
  it.each([
    ['a Kubernetes service account', { sub: 'system:serviceaccount:ns:sa', kubernetes_io: { namespace: 'ns' } }],
    ['a GitHub Actions job', { sub: 'repo:octo/cat:ref:refs/heads/main', repository: 'octo/cat', job_workflow_ref: 'octo/cat/.github/workflows/x.yml@refs/heads/main' }],
    ['an Auth0 client-credentials token', { sub: 'svc@clients', azp: 'svc', gty: 'client-credentials' }],
    ['an Okta client-credentials token', { sub: 'svc', cid: 'svc' }],
  ])("does not take %s for a person's delegated token", async (_what, claims) => {
    const { authenticator } = make();
    const caller = await authenticator.authenticate(`Bearer ${await issuerC.signClaims({ iss: issuerC.issuer, aud: DEV_AUDIENCE, exp: now() + 600, ...claims })}`);
    expect(() => requirePerson(caller)).toThrow(expect.objectContaining({ code: 'Forbidden', status: 403 }));
  });

  it('accepts a token of a second trusted issuer with its own audience', async () => {
    const { authenticator } = make();
    const caller = await authenticator.authenticate(`Bearer ${await issuerB.mint({ audience: OTHER_AUDIENCE, oid: '22222222-2222-4222-8222-222222222222' })}`);
    expect(caller).toMatchObject({ issuer: issuerB.issuer, objectId: '22222222-2222-4222-8222-222222222222', roles: [] });
  });

  it('accepts expiry and nbf within the clock skew', async () => {
    const token = `Bearer ${await issuerA.mint({ ttlSeconds: 600 })}`;
    await expect(make(600 + SKEW - 5).authenticator.authenticate(token)).resolves.toMatchObject({ subject: DEV_ADMIN_OBJECT_ID });
    await expect(make(-(SKEW - 5)).authenticator.authenticate(token)).resolves.toMatchObject({ subject: DEV_ADMIN_OBJECT_ID });
  });

  it.each(REJECTED)('rejects: $name', async ({ header, offsetSeconds, message, logged }) => {
    const { authenticator, log } = make(offsetSeconds);
    const value = await header();
    const err = await authenticator.authenticate(value).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'Unauthenticated', status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, message: MESSAGES[message ?? 'invalid'] });
    const parts = (value ?? '')
      .replace(/^\S+ /, '')
      .split('.')
      .filter((p) => p.length > 8);
    for (const part of parts) expect(JSON.stringify(log) + (err as Error).message).not.toContain(part);
    expect(log.some((e) => e.event === 'JwksUnavailable')).toBe(logged === 'JwksUnavailable');
  });

  it('never checks a signature for alg none or HMAC tokens', async () => {
    const { authenticator } = make();
    await expect(authenticator.authenticate(`Bearer ${await hs256WithPublicKey(publicPem())}`)).rejects.toMatchObject({ status: 401 });
    expect(authenticator.stats.signatureChecks).toBe(0);
  });

  it('fetches each JWKS once for many tokens', async () => {
    const before = fetches['/a/jwks.json'] ?? 0;
    const { authenticator } = make(0, { cacheMaxEntries: 0 });
    for (let i = 0; i < 5; i++) await authenticator.authenticate(`Bearer ${await issuerA.mint()}`);
    expect(authenticator.stats.signatureChecks).toBe(5);
    expect((fetches['/a/jwks.json'] ?? 0) - before).toBe(1);
  });

  it('requireRole throws 403 without the role', async () => {
    const caller = await make().authenticator.authenticate(`Bearer ${await issuerA.mint({ roles: ['Reader'] })}`);
    expect(() => requireRole(caller, 'Reader')).not.toThrow();
    expect(() => requireRole(caller, 'Credman.Admin')).toThrow(expect.objectContaining({ code: 'Forbidden', status: 403 }));
    expect(() => make().authenticator.requireAdmin(caller)).toThrow(expect.objectContaining({ code: 'Forbidden', status: 403 }));
  });
});

describe('verified-token cache', () => {
  it('answers a repeated token without a signature check, never past its exp', async () => {
    const { authenticator, clock } = make();
    const token = `Bearer ${await issuerA.mint({ admin: true, ttlSeconds: 600 })}`;
    const first = await authenticator.authenticate(token);
    const second = await authenticator.authenticate(token);
    expect(second).toBe(first);
    expect(Object.isFrozen(second) && Object.isFrozen(second.roles)).toBe(true);
    expect(authenticator.stats).toEqual({ signatureChecks: 1, cacheHits: 1 });

    clock.offsetSeconds = 600 + 1; // past exp, within skew: verified again, not served from cache
    await expect(authenticator.authenticate(token)).resolves.toMatchObject({ subject: DEV_ADMIN_OBJECT_ID });
    expect(authenticator.stats).toEqual({ signatureChecks: 2, cacheHits: 1 });

    clock.offsetSeconds = 600 + SKEW + 1;
    await expect(authenticator.authenticate(token)).rejects.toMatchObject({ code: 'Unauthenticated', message: MESSAGES.expired });
    expect(authenticator.stats.cacheHits).toBe(1);
  });

  it('is bounded, evicting the least recently used token', async () => {
    const { authenticator } = make(0, { cacheMaxEntries: 2 });
    const [t1, t2, t3] = await Promise.all([1, 2, 3].map(async () => `Bearer ${await issuerA.mint()}`));
    for (const t of [t1, t2, t1, t3, t1, t2]) await authenticator.authenticate(t);
    // t1 t2 miss; t1 hit; t3 miss evicts t2; t1 hit; t2 miss.
    expect(authenticator.stats).toEqual({ signatureChecks: 4, cacheHits: 2 });
  });

  it('does not cache a rejected token', async () => {
    const { authenticator } = make();
    const token = `Bearer ${await issuerA.mint({ audience: OTHER_AUDIENCE })}`;
    await expect(authenticator.authenticate(token)).rejects.toMatchObject({ status: 401 });
    await expect(authenticator.authenticate(token)).rejects.toMatchObject({ status: 401 });
    expect(authenticator.stats).toEqual({ signatureChecks: 2, cacheHits: 0 });
  });
});

describe('configuration', () => {
  const good = () => auth();
  // Every row has three entries: jest-each takes a test function with more parameters than the
  // row has for a `done`-callback test.
  it.each<[string, (a: Settings['auth']) => Settings['auth'], CallerAuthenticatorOptions]>([
    ['no issuers', (a) => ({ ...a, issuers: [] }), {}],
    ['jwksUri not a URL', (a) => ({ ...a, issuers: [{ ...a.issuers[0], jwksUri: 'keys' }] }), {}],
    ['plain http off loopback', (a) => ({ ...a, issuers: [{ ...a.issuers[0], jwksUri: 'http://idp.example/keys' }] }), {}],
    ['no audiences', (a) => ({ ...a, issuers: [{ ...a.issuers[0], audiences: [] }] }), {}],
    ['duplicate issuer', (a) => ({ ...a, issuers: [a.issuers[0], a.issuers[0]] }), {}],
    ['negative skew', (a) => ({ ...a, clockSkewSeconds: -1 }), {}],
    ['bad cache size', (a) => a, { cacheMaxEntries: 1.5 }],
  ])('fails at construction: %s', (_name, change, options) => {
    expect(() => new CallerAuthenticator(change(good()), options)).toThrow(expect.objectContaining({ name: 'SettingsError' }));
  });
});
