import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DecryptionError } from '../errors';
import type { KeyWrapper, WrappedKey } from './keyWrapper';

/** The key file: every version ever created, and which one wraps new DEKs. */
interface KeyFile {
  current: string;
  keys: Record<string, string>;
}

const KEY_BYTES = 32;
const KEY_ID_PREFIX = 'local:';
// RFC 5649 (AES key wrap with padding) alternative initial value.
const WRAP_IV = Buffer.from('A65959A6', 'hex');

/**
 * A KEK kept in a local JSON file (mode 0600), created on first run. For a laptop only: the key
 * sits next to the data it protects. Production uses Key Vault.
 */
export class LocalKeyWrapper implements KeyWrapper {
  readonly kind = 'local';

  private constructor(
    private readonly file: string,
    private keys: Map<string, Buffer>,
    private current: string,
  ) {}

  static async open(file: string, log: (msg: string) => void): Promise<LocalKeyWrapper> {
    let created = false;
    let parsed = await readKeyFile(file);
    if (!parsed) {
      created = await createKeyFile(file, newKeyFile());
      parsed = await readKeyFile(file);
      if (!parsed) throw new Error(`The local key file ${file} could not be created.`);
    }
    const mode = (await stat(file)).mode & 0o777;
    log(
      `Using a LOCAL key-encryption key (${created ? 'created' : 'read from'} ${file}, version ${parsed.current}). ` +
        'It is for local development only and is NOT for production: use Azure Key Vault (CREDMAN_KEK_PROVIDER=keyvault).',
    );
    if (mode & 0o077) log(`The local key file ${file} is readable by other users (mode ${mode.toString(8)}); expected 600.`);
    return new LocalKeyWrapper(file, toKeyMap(file, parsed), parsed.current);
  }

  async wrap(dek: Buffer): Promise<WrappedKey> {
    const cipher = createCipheriv('id-aes256-wrap-pad', this.key(this.current), WRAP_IV);
    return { keyId: KEY_ID_PREFIX + this.current, wrapped: Buffer.concat([cipher.update(dek), cipher.final()]) };
  }

  async unwrap({ keyId, wrapped }: WrappedKey): Promise<Buffer> {
    const version = keyId.startsWith(KEY_ID_PREFIX) ? keyId.slice(KEY_ID_PREFIX.length) : undefined;
    const kek = version === undefined ? undefined : this.keys.get(version);
    if (!kek) throw new DecryptionError('UnknownKeyVersion');
    try {
      const decipher = createDecipheriv('id-aes256-wrap-pad', kek, WRAP_IV);
      return Buffer.concat([decipher.update(wrapped), decipher.final()]);
    } catch {
      // The key wrap integrity check failed: another key, or changed bytes.
      throw new DecryptionError('UnwrapFailed');
    }
  }

  async currentKeyId(): Promise<string> {
    return KEY_ID_PREFIX + this.current;
  }

  async check(): Promise<void> {}

  /** Adds a new current version to the file; older versions stay for unwrapping. */
  async rotate(): Promise<string> {
    const parsed = (await readKeyFile(this.file)) ?? fromKeyMap(this.keys, this.current);
    const version = newVersion();
    const next: KeyFile = { current: version, keys: { ...parsed.keys, [version]: randomBytes(KEY_BYTES).toString('base64') } };
    const tmp = `${this.file}.${process.pid}.${version}.tmp`;
    await writeFile(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, this.file);
    this.keys = toKeyMap(this.file, next);
    this.current = version;
    return KEY_ID_PREFIX + version;
  }

  private key(version: string): Buffer {
    const key = this.keys.get(version);
    if (!key) throw new Error(`The local key file has no version ${version}.`);
    return key;
  }
}

function newVersion(): string {
  return randomBytes(16).toString('hex');
}

function newKeyFile(): KeyFile {
  const version = newVersion();
  return { current: version, keys: { [version]: randomBytes(KEY_BYTES).toString('base64') } };
}

async function readKeyFile(file: string): Promise<KeyFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`The local key file ${file} is not valid JSON.`);
  }
  const { current, keys } = (value ?? {}) as Partial<KeyFile>;
  if (typeof current !== 'string' || typeof keys !== 'object' || keys === null || typeof keys[current] !== 'string') {
    throw new Error(`The local key file ${file} must look like { "current": "<version>", "keys": { "<version>": "<base64 key>" } }.`);
  }
  return { current, keys };
}

/**
 * Writes the file only if none exists, atomically (temp file, then link), so two processes
 * starting together agree on one key. Returns whether this call created it.
 */
async function createKeyFile(file: string, content: KeyFile): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${content.current}.tmp`;
  await writeFile(tmp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tmp);
  }
}

function toKeyMap(file: string, parsed: KeyFile): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const [version, encoded] of Object.entries(parsed.keys)) {
    const key = typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
    if (key.length !== KEY_BYTES) throw new Error(`The local key file ${file} has a version ${version} that is not a 256-bit key.`);
    keys.set(version, key);
  }
  return keys;
}

function fromKeyMap(keys: Map<string, Buffer>, current: string): KeyFile {
  return { current, keys: Object.fromEntries([...keys].map(([v, k]) => [v, k.toString('base64')])) };
}
