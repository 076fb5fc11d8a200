import { constants, generateKeyPair, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { CryptographyClientOptions } from '@azure/keyvault-keys';
import { generate } from 'selfsigned';

/**
 * A small, faithful fake of the Key Vault keys REST API for tests and the bench: HTTPS on
 * loopback with a self-signed certificate, the 401 bearer challenge, RSA keys with versions,
 * GET key, wrapkey and unwrapkey (RSA-OAEP, RSA-OAEP-256), Key Vault's error shape, throttling
 * (429 `Throttled` with Retry-After) and outages on demand, and a count of every call so that
 * callers can assert how often Key Vault is reached.
 */
export interface FakeKeyVaultOptions {
  /** Name of the key created at start. */
  keyName?: string;
  /** Tenant named in the challenge. */
  tenantId?: string;
  /** The only bearer token accepted; random by default (see `credential`). */
  acceptedToken?: string;
}

export interface FakeKeyVaultCalls {
  /** Requests answered with the 401 bearer challenge (missing or wrong token). */
  challenge: number;
  get: number;
  wrap: number;
  unwrap: number;
}

interface KeyVersion {
  version: string;
  privateKey: KeyObject;
  n: string;
  e: string;
  created: number;
}

const generateRsa = promisify(generateKeyPair);
const KEY_OPS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'];
const OAEP_HASH: Record<string, string> = { 'RSA-OAEP': 'sha1', 'RSA-OAEP-256': 'sha256' };

class KeyVaultHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeKeyVault {
  readonly calls: FakeKeyVaultCalls = { challenge: 0, get: 0, wrap: 0, unwrap: 0 };
  /** When set, every authenticated request is answered with this status: 429 as Key Vault throttles, 503 as an outage. */
  failWith: number | undefined;
  /** The Retry-After (seconds) sent with a 429 (Key Vault always sends one). */
  retryAfterSeconds = 1;
  /** Requests answered with `failWith`. */
  failed = 0;
  readonly keyName: string;
  readonly acceptedToken: string;
  /** A TokenCredential that returns the accepted token, for any scope. */
  readonly credential: TokenCredential;
  private readonly keys = new Map<string, KeyVersion[]>();
  private url = '';

  private constructor(
    private readonly server: Server,
    /** PEM of the self-signed certificate the server presents: the one CA a client must trust. */
    readonly certificatePem: string,
    private readonly options: FakeKeyVaultOptions,
  ) {
    this.keyName = options.keyName ?? 'credman-kek';
    this.acceptedToken = options.acceptedToken ?? randomBytes(24).toString('base64url');
    const token = this.acceptedToken;
    this.credential = { getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  }

  static async start(options: FakeKeyVaultOptions = {}): Promise<FakeKeyVault> {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    });
    const server = createServer({ key: pems.private, cert: pems.cert });
    const vault = new FakeKeyVault(server, pems.cert, options);
    server.on('request', (req, res) => void vault.handle(req, res).catch(() => res.destroy())); // a listener cannot be awaited; failures end the socket
    await vault.createVersion(vault.keyName);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    vault.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return vault;
  }

  /** The vault URL, e.g. https://127.0.0.1:12345. */
  get vaultUrl(): string {
    return this.url;
  }

  /** The key id without version, as production configures it. */
  keyId(name = this.keyName): string {
    return `${this.url}/keys/${name}`;
  }

  /** SDK client options that trust this server's certificate and its loopback challenge. */
  get clientOptions(): CryptographyClientOptions {
    return { tlsOptions: { ca: this.certificatePem }, disableChallengeResourceVerification: true };
  }

  /** Adds a new current version of the key (as a Key Vault rotation does); returns the version. */
  async rotate(name = this.keyName): Promise<string> {
    return this.createVersion(name);
  }

  resetCalls(): void {
    Object.assign(this.calls, { challenge: 0, get: 0, wrap: 0, unwrap: 0 });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async createVersion(name: string): Promise<string> {
    const { privateKey, publicKey } = await generateRsa('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const version = randomBytes(16).toString('hex');
    const versions = this.keys.get(name) ?? [];
    versions.push({ version, privateKey, n: jwk.n ?? '', e: jwk.e ?? '', created: Math.floor(Date.now() / 1000) });
    this.keys.set(name, versions);
    return version;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      this.authenticate(req.headers.authorization);
      const url = new URL(req.url ?? '/', this.url);
      if (!url.searchParams.get('api-version')) throw new KeyVaultHttpError(400, 'BadParameter', 'The api-version query parameter is missing.');
      if (this.failWith) {
        this.failed++;
        if (this.failWith === 429) {
          throw new KeyVaultHttpError(429, 'Throttled', 'Request was not processed because too many requests were received. Reason: A generic error occurred.');
        }
        throw new KeyVaultHttpError(this.failWith, 'ServiceUnavailable', 'The service is unavailable.');
      }
      // /keys/{name}, /keys/{name}/, /keys/{name}/{version}, /keys/{name}/{version}/{wrapkey|unwrapkey}
      const [root, name, version = '', operation, ...rest] = url.pathname.split('/').slice(1);
      if (root !== 'keys' || !name || rest.length > 0) throw new KeyVaultHttpError(404, 'NotFound', 'The requested resource was not found.');
      if (req.method === 'GET' && operation === undefined) {
        this.calls.get++;
        return send(res, 200, this.bundle(name, this.find(name, version)));
      }
      if (req.method === 'POST' && (operation === 'wrapkey' || operation === 'unwrapkey')) {
        this.calls[operation === 'wrapkey' ? 'wrap' : 'unwrap']++;
        return send(res, 200, this.keyOperation(operation, name, this.find(name, version), Buffer.concat(chunks)));
      }
      throw new KeyVaultHttpError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    } catch (err) {
      if (!(err instanceof KeyVaultHttpError)) return send(res, 500, { error: { code: 'InternalError', message: 'Internal error.' } });
      const headers: Record<string, string> = {};
      if (err.status === 429) headers['Retry-After'] = String(this.retryAfterSeconds);
      if (err.status === 401) {
        this.calls.challenge++;
        const tenant = this.options.tenantId ?? '00000000-0000-0000-0000-000000000000';
        headers['WWW-Authenticate'] = `Bearer authorization="https://login.microsoftonline.com/${tenant}", resource="https://vault.azure.net"`;
      }
      send(res, err.status, { error: { code: err.code, message: err.message } }, headers);
    }
  }

  private authenticate(header: string | undefined): void {
    if (!header) throw new KeyVaultHttpError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.');
    if (header !== `Bearer ${this.acceptedToken}`) throw new KeyVaultHttpError(401, 'Unauthorized', 'AKV10022: Invalid token.');
  }

  private find(name: string, version: string): KeyVersion {
    const versions = this.keys.get(name);
    const found = version === '' ? versions?.at(-1) : versions?.find((v) => v.version === version);
    if (!found) {
      const which = version ? `${name}/${version}` : name;
      throw new KeyVaultHttpError(404, 'KeyNotFound', `A key with (name/id) ${which} was not found in this key vault.`);
    }
    return found;
  }

  private bundle(name: string, key: KeyVersion): object {
    return {
      key: { kid: `${this.url}/keys/${name}/${key.version}`, kty: 'RSA', key_ops: KEY_OPS, n: key.n, e: key.e },
      attributes: { enabled: true, created: key.created, updated: key.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
    };
  }

  private keyOperation(operation: 'wrapkey' | 'unwrapkey', name: string, key: KeyVersion, body: Buffer): object {
    let request: { alg?: unknown; value?: unknown };
    try {
      request = JSON.parse(body.toString('utf8')) as typeof request;
    } catch {
      throw new KeyVaultHttpError(400, 'BadParameter', 'The request body is not valid JSON.');
    }
    const hash = typeof request.alg === 'string' ? OAEP_HASH[request.alg] : undefined;
    if (!hash || typeof request.value !== 'string') throw new KeyVaultHttpError(400, 'BadParameter', 'Invalid algorithm or value.');
    const input = Buffer.from(request.value, 'base64url');
    const padding = constants.RSA_PKCS1_OAEP_PADDING;
    let output: Buffer;
    try {
      output = operation === 'wrapkey' ? publicEncrypt({ key: key.privateKey, padding, oaepHash: hash }, input) : privateDecrypt({ key: key.privateKey, padding, oaepHash: hash }, input);
    } catch {
      throw new KeyVaultHttpError(400, 'BadParameter', `The ${operation === 'wrapkey' ? 'key wrap' : 'key unwrap'} operation failed.`);
    }
    return { kid: `${this.url}/keys/${name}/${key.version}`, value: output.toString('base64url') };
  }
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'x-ms-request-id': randomBytes(16).toString('hex'),
  });
  res.end(text);
}
