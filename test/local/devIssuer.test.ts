import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { DEV_ADMIN_OBJECT_ID, DEV_CLIENT_APP_ID, DEV_ISSUER_KEY_FILE, DEV_TENANT_ID, DevIssuer, devIssuerJwksUri } from '../../local/devIssuer';
import { DEV_AUDIENCE, devIssuerUrl } from '../../local/hostSettings';

const ISSUER = devIssuerUrl(7071);
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'credman-dev-issuer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('DevIssuer', () => {
  it('creates its key file once, mode 0600, and reuses it', async () => {
    const dataDir = join(dir, 'nested', 'data');
    const first = await DevIssuer.loadOrCreate(dataDir, ISSUER);
    const file = join(dataDir, DEV_ISSUER_KEY_FILE);
    const written = readFileSync(file, 'utf8');
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);

    const second = await DevIssuer.loadOrCreate(dataDir, ISSUER);
    expect(second.kid).toBe(first.kid);
    expect(second.jwks()).toEqual(first.jwks());
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('concurrent first runs agree on one key', async () => {
    const issuers = await Promise.all([1, 2, 3].map(() => DevIssuer.loadOrCreate(dir, ISSUER)));
    expect(new Set(issuers.map((i) => i.kid)).size).toBe(1);
  });

  it('publishes only the public key', async () => {
    const { keys } = (await DevIssuer.loadOrCreate(dir, ISSUER)).jwks();
    expect(keys).toHaveLength(1);
    expect(Object.keys(keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(devIssuerJwksUri(`${ISSUER}/`)).toBe(`${ISSUER}/jwks.json`);
  });

  it('mints Entra-shaped v2 access tokens', async () => {
    const issuer = await DevIssuer.loadOrCreate(dir, ISSUER);
    const token = await issuer.mint({ admin: true, groups: ['g1'], roles: ['Reader'] });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), { issuer: ISSUER, audience: DEV_AUDIENCE });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: issuer.kid, typ: 'JWT' });
    expect(payload).toMatchObject({
      sub: DEV_ADMIN_OBJECT_ID,
      oid: DEV_ADMIN_OBJECT_ID,
      tid: DEV_TENANT_ID,
      azp: DEV_CLIENT_APP_ID,
      roles: ['Reader', 'Credman.Admin'],
      groups: ['g1'],
      ver: '2.0',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
    expect(payload.nbf).toBe(payload.iat);

    const plain = await issuer.mint({ ttlSeconds: 60, audience: 'api://x', appId: 'cli' });
    const claims = JSON.parse(Buffer.from(plain.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ aud: 'api://x', azp: 'cli' });
    expect(claims).not.toHaveProperty('roles');
    expect(claims).not.toHaveProperty('groups');
    expect(claims.exp - claims.iat).toBe(60);
  });

  it('refuses bad mint options', async () => {
    const issuer = await DevIssuer.loadOrCreate(dir, ISSUER);
    await expect(issuer.mint({ oid: 'me' })).rejects.toThrow(TypeError);
    await expect(issuer.mint({ ttlSeconds: 0 })).rejects.toThrow(TypeError);
  });
});
