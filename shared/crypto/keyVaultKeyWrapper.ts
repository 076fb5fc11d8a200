import { constants, createPublicKey, publicEncrypt, type KeyObject } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, parseKeyVaultKeyIdentifier, type CryptographyClientOptions, type KeyVaultKey } from '@azure/keyvault-keys';
import { CredmanError, DecryptionError, DependencyUnavailableError } from '../errors';
import type { KeyWrapper, WrappedKey } from './keyWrapper';

export interface KeyVaultKeyWrapperOptions {
  /** Passed to every SDK client: retries, TLS, `disableChallengeResourceVerification`, … */
  clientOptions?: CryptographyClientOptions;
  /** How long the current key version is trusted before it is read again (picks up rotation). */
  currentKeyRefreshMs?: number;
  /**
   * Wrap in process with the key's public half (default) instead of calling Key Vault's wrapkey:
   * the SDK only wraps locally for RSA-OAEP (SHA-1), so for RSA-OAEP-256 we do it ourselves.
   */
  wrapLocally?: boolean;
  /** Clock in milliseconds, for tests. */
  now?: () => number;
}

const ALGORITHM = 'RSA-OAEP-256';
const DEFAULT_REFRESH_MS = 10 * 60_000;
/** After a failed refresh, keep using the known version and try again after this long. */
const RETRY_REFRESH_MS = 30_000;
const VERSION = /^[0-9A-Za-z]{1,64}$/;

interface CurrentKey {
  id: string;
  publicKey: KeyObject;
  client: CryptographyClient;
}

/**
 * The KEK is an RSA key in Azure Key Vault. New DEKs are wrapped with its current version;
 * each envelope is unwrapped by Key Vault with the exact version recorded in it.
 */
export class KeyVaultKeyWrapper implements KeyWrapper {
  readonly kind = 'keyvault';
  private readonly vaultOrigin: string;
  private readonly keyName: string;
  private readonly keyClient: KeyClient;
  private readonly clients = new Map<string, CryptographyClient>();
  private readonly refreshMs: number;
  private readonly wrapLocally: boolean;
  private readonly now: () => number;
  private current?: CurrentKey;
  private refreshing?: Promise<CurrentKey>;
  private nextRefreshAt = 0;

  /** @param keyId the key without a version, e.g. https://x.vault.azure.net/keys/credman-kek */
  constructor(
    keyId: string,
    private readonly credential: TokenCredential,
    private readonly options: KeyVaultKeyWrapperOptions = {},
  ) {
    const parsed = parseKeyVaultKeyIdentifier(keyId);
    if (parsed.version) throw new Error('The Key Vault key id must not name a version: new keys are wrapped with the current one.');
    this.vaultOrigin = new URL(parsed.vaultUrl).origin;
    this.keyName = parsed.name;
    this.refreshMs = options.currentKeyRefreshMs ?? DEFAULT_REFRESH_MS;
    if (!Number.isSafeInteger(this.refreshMs) || this.refreshMs < 0) throw new RangeError('currentKeyRefreshMs must be a non-negative integer.');
    this.wrapLocally = options.wrapLocally ?? true;
    this.now = options.now ?? Date.now;
    this.keyClient = new KeyClient(this.vaultOrigin, credential, options.clientOptions);
  }

  async wrap(dek: Buffer): Promise<WrappedKey> {
    const current = await this.currentKey();
    if (this.wrapLocally) {
      const wrapped = publicEncrypt({ key: current.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, dek);
      return { keyId: current.id, wrapped };
    }
    try {
      const result = await current.client.wrapKey(ALGORITHM, dek);
      return { keyId: current.id, wrapped: Buffer.from(result.result) };
    } catch (err) {
      throw mapError(err, 'wrapKey');
    }
  }

  async unwrap({ keyId, wrapped }: WrappedKey): Promise<Buffer> {
    const version = this.versionOf(keyId);
    try {
      const result = await this.clientFor(version).unwrapKey(ALGORITHM, wrapped);
      return Buffer.from(result.result);
    } catch (err) {
      const mapped = mapError(err, 'unwrapKey');
      if (mapped instanceof DecryptionError && mapped.code === 'DecryptionUnknownKeyVersion') this.clients.delete(version);
      throw mapped;
    }
  }

  async currentKeyId(options: { fresh?: boolean } = {}): Promise<string> {
    if (options.fresh) this.nextRefreshAt = 0;
    return (await this.currentKey()).id;
  }

  /** Reads the current key from Key Vault: proves reachability, identity and permission. */
  async check(): Promise<void> {
    await this.refresh();
  }

  /** The cached current version; re-read when due, falling back to the known one if that fails. */
  private async currentKey(): Promise<CurrentKey> {
    if (this.current && this.now() < this.nextRefreshAt) return this.current;
    try {
      return await this.refresh();
    } catch (err) {
      if (!this.current) throw err;
      this.nextRefreshAt = this.now() + Math.min(this.refreshMs, RETRY_REFRESH_MS);
      return this.current;
    }
  }

  /** One read of the current key at a time, shared by all callers. */
  private refresh(): Promise<CurrentKey> {
    this.refreshing ??= this.fetchCurrent().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async fetchCurrent(): Promise<CurrentKey> {
    let key: KeyVaultKey;
    try {
      key = await this.keyClient.getKey(this.keyName);
    } catch (err) {
      throw mapError(err, 'getKey');
    }
    const { id, properties, keyOperations } = key;
    const jwk = key.key;
    const version = properties.version;
    if (!id || !version || !jwk?.n || !jwk.e || properties.enabled === false || (keyOperations && !keyOperations.includes('wrapKey'))) {
      throw new DependencyUnavailableError('Key Vault', new Error(`The current version of key ${this.keyName} is not an enabled RSA key that allows wrapKey.`));
    }
    const publicKey = createPublicKey({
      key: { kty: 'RSA', n: Buffer.from(jwk.n).toString('base64url'), e: Buffer.from(jwk.e).toString('base64url') },
      format: 'jwk',
    });
    // Built from the key we already hold, this client needs no GET before its first unwrap.
    const client = this.clients.get(version) ?? new CryptographyClient(key, this.credential, this.options.clientOptions);
    this.clients.set(version, client);
    this.current = { id, publicKey, client };
    this.nextRefreshAt = this.now() + this.refreshMs;
    return this.current;
  }

  /**
   * Only versions of the configured key are unwrapped: an envelope naming another vault must not
   * make us send it a bearer token.
   */
  private versionOf(keyId: string): string {
    try {
      const parsed = parseKeyVaultKeyIdentifier(keyId);
      const sameKey = new URL(parsed.vaultUrl).origin === this.vaultOrigin && parsed.name.toLowerCase() === this.keyName.toLowerCase();
      if (sameKey && parsed.version && VERSION.test(parsed.version)) return parsed.version;
    } catch {
      // Not a key identifier at all.
    }
    throw new DecryptionError('UnknownKeyVersion');
  }

  private clientFor(version: string): CryptographyClient {
    let client = this.clients.get(version);
    if (!client) {
      client = new CryptographyClient(`${this.vaultOrigin}/keys/${this.keyName}/${version}`, this.credential, this.options.clientOptions);
      this.clients.set(version, client);
    }
    return client;
  }
}

/**
 * SDK failures to typed errors. The cause is rebuilt from status and service code only: SDK
 * errors carry the request (with its Authorization header) and must not reach a log whole.
 */
function mapError(err: unknown, operation: 'getKey' | 'wrapKey' | 'unwrapKey'): CredmanError {
  if (err instanceof CredmanError) return err;
  const status = statusOf(err);
  const cause = new Error(`Key Vault ${operation} failed: ${describe(err, status)}`);
  if (operation === 'unwrapKey' && status === 404) return new DecryptionError('UnknownKeyVersion', cause);
  if (operation === 'unwrapKey' && status === 400) return new DecryptionError('UnwrapFailed', cause);
  // Network errors, 401/403, 429, 5xx, credential failures, SDK-side key checks.
  return new DependencyUnavailableError('Key Vault', cause);
}

function statusOf(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

function describe(err: unknown, status: number | undefined): string {
  if (!(err instanceof Error)) return 'unknown error';
  const code = (err as { code?: unknown }).code;
  return [status === undefined ? err.name : `HTTP ${status}`, typeof code === 'string' ? code : undefined, err.message].filter(Boolean).join(' ');
}
