import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CredmanError, DecryptionError } from '../errors';
import { metrics } from '../metrics';
import type { DekCache } from './dekCache';
import type { KeyWrapper, WrappedKey } from './keyWrapper';

/** Where a sealed value is stored; bound into every field's AAD. */
export interface RecordLocation {
  readonly table: string;
  readonly partitionKey: string;
  readonly rowKey: string;
}

/** The stored form: one JSON string in one entity property. */
interface Envelope {
  /** 1: AAD binds the location; 2: also a binding string the caller gives (configuration, version). */
  v: 1 | 2;
  /** Versioned KEK id that wrapped the DEK. */
  kid: string;
  /** Wrapped DEK, base64. */
  dek: string;
  /** Per field: base64 of nonce (12) | ciphertext | tag (16). */
  f: Record<string, string>;
}

const DEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD_LABEL = 'credman/envelope/v1';
const BOUND_AAD_LABEL = 'credman/envelope/v2';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Envelope encryption of a record's secret fields: a fresh AES-256 data key (DEK) per seal,
 * AES-256-GCM per field with a fresh nonce, the DEK wrapped by the KEK. Every failure to open is
 * a DecryptionError; messages never carry key or field material.
 */
export class EnvelopeCipher {
  constructor(
    private readonly wrapper: KeyWrapper,
    private readonly cache: DekCache,
  ) {}

  /**
   * `binding`: a string the record is used with (e.g. a digest of its plain configuration and a
   * version), bound into every field's AAD; opening needs the same string. A bound envelope must
   * hold at least one field, since an empty one would authenticate nothing.
   */
  async seal(loc: RecordLocation, fields: Record<string, string>, binding?: string): Promise<string> {
    const names = fieldNames(fields);
    if (binding !== undefined && names.length === 0) throw new TypeError('A bound envelope needs at least one field.');
    for (const name of names) {
      if (typeof fields[name] !== 'string') throw new TypeError(`Field ${JSON.stringify(name)} must be a string.`);
    }
    const dek = randomBytes(DEK_BYTES);
    const wrapped = await this.wrapper.wrap(dek);
    // A read right after this write finds the DEK here and costs no KEK call.
    this.cache.set(wrapped, dek);
    const envelope: Envelope = {
      v: binding === undefined ? 1 : 2,
      kid: wrapped.keyId,
      dek: wrapped.wrapped.toString('base64'),
      f: Object.fromEntries(names.map((name) => [name, encryptField(dek, aad(loc, name, names, binding), fields[name])])),
    };
    return JSON.stringify(envelope);
  }

  /**
   * Opens with the binding it was sealed with: a bound envelope opened without one (or with another),
   * or an unbound one opened with one, is `Tampered`: a row may not fall back to the weaker form.
   */
  async open(loc: RecordLocation, sealed: string, binding?: string): Promise<Record<string, string>> {
    const envelope = parseEnvelope(sealed);
    if ((envelope.v === 2) !== (binding !== undefined)) throw new DecryptionError('Tampered');
    const dek = await this.unwrap(wrappedKeyOf(envelope));
    const names = fieldNames(envelope.f);
    return Object.fromEntries(names.map((name) => [name, decryptField(dek, aad(loc, name, names, binding), envelope.f[name])]));
  }

  /** Whether `sealed` is bound to a binding string (v2), without any key operation. */
  isBound(sealed: string): boolean {
    return parseEnvelope(sealed).v === 2;
  }

  /** The per-field ciphertexts, which a rewrap keeps: what a row MAC covers of an envelope. */
  fieldsOf(sealed: string): Record<string, string> {
    return parseEnvelope(sealed).f;
  }

  /**
   * Re-wraps the DEK with the KEK's current version; the field ciphertexts are untouched.
   * Returns `sealed` itself when it is already on the current version.
   */
  async rewrap(sealed: string): Promise<string> {
    const envelope = parseEnvelope(sealed);
    if (envelope.kid === (await this.wrapper.currentKeyId())) return sealed;
    const dek = await this.unwrap(wrappedKeyOf(envelope));
    const next = await this.wrapper.wrap(dek);
    this.cache.set(next, dek);
    const rewrapped: Envelope = { v: envelope.v, kid: next.keyId, dek: next.wrapped.toString('base64'), f: envelope.f };
    return JSON.stringify(rewrapped);
  }

  /** The KEK version new envelopes are wrapped with (`fresh`: re-read from Key Vault first). */
  currentKeyId(options?: { fresh?: boolean }): Promise<string> {
    return this.wrapper.currentKeyId(options);
  }

  /** The versioned KEK id recorded in `sealed`, without any key operation. */
  keyIdOf(sealed: string): string {
    return parseEnvelope(sealed).kid;
  }

  private async unwrap(key: WrappedKey): Promise<Buffer> {
    let dek: Buffer;
    try {
      dek = await this.cache.getOrLoad(key, () => {
        metrics.kekUnwraps++;
        return this.wrapper.unwrap(key);
      });
    } catch (err) {
      if (err instanceof CredmanError) throw err;
      throw new DecryptionError('UnwrapFailed');
    }
    if (dek.length !== DEK_BYTES) {
      this.cache.delete(key);
      throw new DecryptionError('UnwrapFailed');
    }
    return dek;
  }
}

/**
 * Canonical AAD: a JSON array cannot be confused across boundaries the way a concatenation can.
 * It also names every field of the record, so dropping a field from an envelope breaks the rest.
 */
function aad(loc: RecordLocation, field: string, allFields: readonly string[], binding?: string): Buffer {
  const parts = [binding === undefined ? AAD_LABEL : BOUND_AAD_LABEL, loc.table, loc.partitionKey, loc.rowKey, field, allFields];
  return Buffer.from(JSON.stringify(binding === undefined ? parts : [...parts, binding]), 'utf8');
}

function fieldNames(fields: Record<string, string>): string[] {
  return Object.keys(fields).sort();
}

function encryptField(dek: Buffer, additionalData: Buffer, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', dek, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

function decryptField(dek: Buffer, additionalData: Buffer, encoded: string): string {
  const bytes = Buffer.from(encoded, 'base64');
  const nonce = bytes.subarray(0, NONCE_BYTES);
  const body = bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dek, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    // Wrong DEK, wrong location or field, or any changed byte: GCM cannot tell them apart.
    throw new DecryptionError('Tampered');
  }
}

function wrappedKeyOf(envelope: Envelope): WrappedKey {
  return { keyId: envelope.kid, wrapped: Buffer.from(envelope.dek, 'base64') };
}

function parseEnvelope(sealed: string): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(sealed);
  } catch {
    throw new DecryptionError('Malformed');
  }
  if (!isRecord(value) || (value.v !== 1 && value.v !== 2)) throw new DecryptionError('Malformed');
  const { kid, dek, f } = value;
  if (typeof kid !== 'string' || kid === '' || !isBase64(dek, 1) || !isRecord(f)) {
    throw new DecryptionError('Malformed');
  }
  for (const field of Object.values(f)) {
    if (!isBase64(field, NONCE_BYTES + TAG_BYTES)) throw new DecryptionError('Malformed');
  }
  if (value.v === 2 && Object.keys(f).length === 0) throw new DecryptionError('Malformed');
  return { v: value.v, kid, dek, f: f as Record<string, string> };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBase64(value: unknown, minBytes: number): value is string {
  return typeof value === 'string' && BASE64.test(value) && Buffer.byteLength(value, 'base64') >= minBytes;
}
