import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, SignJWT, type JWK, type JWTPayload } from 'jose';
import { DEV_AUDIENCE } from './hostSettings';

// The local identity provider: it mints tokens shaped like Entra ID v2 access tokens, and the
// app validates them with the same CallerAuthenticator as in Azure (the dev issuer is just one
// more trusted issuer in local configuration). Its key is for this machine only.

/** Fixed ids, so that local configuration and access policies can name them. */
export const DEV_TENANT_ID = '00000000-0000-4000-8000-00000000de01';
/** The dev person: the default `oid` of minted tokens (an admin only with `admin: true`). */
export const DEV_ADMIN_OBJECT_ID = '00000000-0000-4000-8000-00000000ad01';
/** The app's own identity locally, standing in for its managed identity. */
export const DEV_APP_OBJECT_ID = '00000000-0000-4000-8000-00000000a901';
/** The calling application (`azp`) when none is given, like a CLI's client id. */
export const DEV_CLIENT_APP_ID = '00000000-0000-4000-8000-00000000c101';
export const DEV_ADMIN_ROLE = 'Credman.Admin';

export const DEV_ISSUER_KEY_FILE = 'dev-issuer.json';
/** The local host serves `jwks()` here, below the issuer URL. */
export const DEV_ISSUER_JWKS_PATH = '/jwks.json';

export function devIssuerJwksUri(issuerUrl: string): string {
  return `${issuerUrl.replace(/\/+$/, '')}${DEV_ISSUER_JWKS_PATH}`;
}

export interface MintOptions {
  /** Adds the admin app role. */
  admin?: boolean;
  oid?: string;
  tid?: string;
  groups?: string[];
  /** The calling application, in `azp`. */
  appId?: string;
  audience?: string;
  /** Lifetime; default 3,600 (Entra's default is 60-90 minutes). */
  ttlSeconds?: number;
  roles?: string[];
  /**
   * Delegated scopes, in `scp` (a person signed in); default `user_impersonation`. `null`: an
   * app-only token (client credentials): no `scp`, and `idtyp: app` as Entra's optional claim says.
   */
  scopes?: string | null;
}

interface KeyFile {
  note: string;
  kid: string;
  createdAt: string;
  privateJwk: JsonWebKey;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TTL_SECONDS = 24 * 3600;

export class DevIssuer {
  private constructor(
    readonly issuer: string,
    readonly kid: string,
    private readonly privateKey: KeyObject,
    private readonly publicJwk: JWK,
  ) {}

  /** Loads `<dataDir>/dev-issuer.json`, creating it (mode 0600) with a new RS256 key on first run. */
  static async loadOrCreate(dataDir: string, issuerUrl: string): Promise<DevIssuer> {
    const file = join(dataDir, DEV_ISSUER_KEY_FILE);
    const stored = readKeyFile(file) ?? (await createKeyFile(dataDir, file));
    const privateKey = createPrivateKey({ key: stored.privateJwk, format: 'jwk' });
    const { kty, n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
    const publicJwk: JWK = { kty, n, e, kid: stored.kid, alg: 'RS256', use: 'sig' };
    return new DevIssuer(issuerUrl.replace(/\/+$/, ''), stored.kid, privateKey, publicJwk);
  }

  /** The public JSON Web Key Set, served at `devIssuerJwksUri(issuer)`. */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk }] };
  }

  /** A signed token shaped like an Entra ID v2 access token. */
  async mint(opts: MintOptions = {}): Promise<string> {
    const oid = opts.oid ?? DEV_ADMIN_OBJECT_ID;
    const tid = opts.tid ?? DEV_TENANT_ID;
    const ttl = opts.ttlSeconds ?? 3600;
    if (!GUID.test(oid)) throw new TypeError('oid must be a GUID');
    if (!GUID.test(tid)) throw new TypeError('tid must be a GUID');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
      throw new TypeError(`ttlSeconds must be an integer from 1 to ${MAX_TTL_SECONDS}`);
    }
    const roles = [...new Set([...(opts.roles ?? []), ...(opts.admin ? [DEV_ADMIN_ROLE] : [])])];
    const now = Math.floor(Date.now() / 1000);
    return this.signClaims({
      aud: opts.audience ?? DEV_AUDIENCE,
      iss: this.issuer,
      iat: now,
      nbf: now,
      exp: now + ttl,
      sub: oid,
      oid,
      tid,
      azp: opts.appId ?? DEV_CLIENT_APP_ID,
      ...(opts.scopes === null ? { idtyp: 'app' } : { scp: opts.scopes ?? 'user_impersonation' }),
      // Entra leaves `roles` and `groups` out when empty.
      ...(roles.length ? { roles } : {}),
      ...(opts.groups?.length ? { groups: [...opts.groups] } : {}),
      uti: randomUUID(),
      ver: '2.0',
    });
  }

  /** Signs any claims as they are: lets tests build tokens the validator must refuse. */
  signClaims(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid }).sign(this.privateKey);
  }
}

function readKeyFile(file: string): KeyFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<KeyFile>;
  if (typeof parsed.kid !== 'string' || parsed.privateJwk?.kty !== 'RSA' || typeof parsed.privateJwk.d !== 'string') {
    throw new Error(`${file} is not a dev issuer key file; delete it to create a new key.`);
  }
  return parsed as KeyFile;
}

async function createKeyFile(dataDir: string, file: string): Promise<KeyFile> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateJwk = privateKey.export({ format: 'jwk' });
  const { kty, n, e } = privateJwk;
  const stored: KeyFile = {
    note: 'Signing key of the credman local dev issuer. For this machine only; never trust it in Azure.',
    kid: await calculateJwkThumbprint({ kty, n, e }),
    createdAt: new Date().toISOString(),
    privateJwk,
  };
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written aside, then linked into place: linking fails if another process created the file
  // first, so two first runs never leave a half-written or overwritten key.
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(tmp, JSON.stringify(stored, null, 2), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readKeyFile(file) as KeyFile;
  } finally {
    unlinkSync(tmp);
  }
  return stored;
}
