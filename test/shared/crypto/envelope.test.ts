import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher, type RecordLocation } from '../../../shared/crypto/envelope';
import type { KeyWrapper, WrappedKey } from '../../../shared/crypto/keyWrapper';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';

interface Sealed {
  v: number;
  kid: string;
  dek: string;
  f: Record<string, string>;
}

/** Counts KEK calls made through a real wrapper. */
class Counting implements KeyWrapper {
  readonly kind = 'counting';
  wraps = 0;
  unwraps = 0;
  constructor(readonly inner: LocalKeyWrapper) {}
  wrap(dek: Buffer): Promise<WrappedKey> {
    this.wraps++;
    return this.inner.wrap(dek);
  }
  async unwrap(key: WrappedKey): Promise<Buffer> {
    this.unwraps++;
    await new Promise((r) => setImmediate(r));
    return this.inner.unwrap(key);
  }
  currentKeyId(): Promise<string> {
    return this.inner.currentKeyId();
  }
  check(): Promise<void> {
    return this.inner.check();
  }
}

const loc: RecordLocation = { table: 'credmanConnections', partitionKey: 'github', rowKey: 'alice' };
const fields = { accessToken: 'gho_access-token-value', refreshToken: 'ghr_refresh-token-value', idToken: '' };
const newCache = () => new DekCache({ ttlMs: 60_000, maxEntries: 100 });

const decode = (sealed: string) => JSON.parse(sealed) as Sealed;
const encode = (envelope: Sealed) => JSON.stringify(envelope);
function flip(b64: string, index: number): string {
  const bytes = Buffer.from(b64, 'base64');
  bytes[index < 0 ? bytes.length + index : index] ^= 0x01;
  return bytes.toString('base64');
}

describe('EnvelopeCipher', () => {
  let dir: string;
  let wrapper: Counting;
  let cipher: EnvelopeCipher;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credman-envelope-'));
    wrapper = new Counting(await LocalKeyWrapper.open(join(dir, 'kek.json'), () => {}));
    cipher = new EnvelopeCipher(wrapper, newCache());
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A cipher on the same KEK with an empty DEK cache: another instance, or after the TTL. */
  const cold = () => new EnvelopeCipher(wrapper, newCache());

  it('round-trips every field and stores no plaintext', async () => {
    const sealed = await cipher.seal(loc, fields);
    const envelope = decode(sealed);
    expect(envelope).toEqual({ v: 1, kid: await wrapper.currentKeyId(), dek: expect.any(String), f: expect.any(Object) });
    expect(Object.keys(envelope.f).sort()).toEqual(Object.keys(fields).sort());
    for (const value of Object.values(fields).filter(Boolean)) expect(sealed).not.toContain(value);
    expect(await cipher.open(loc, sealed)).toEqual(fields);
    expect(await cold().open(loc, sealed)).toEqual(fields);
  });

  it('uses a fresh DEK and fresh nonces on every seal', async () => {
    const a = decode(await cipher.seal(loc, { x: 'same', y: 'same' }));
    const b = decode(await cipher.seal(loc, { x: 'same', y: 'same' }));
    expect(a.dek).not.toBe(b.dek);
    const nonces = [a.f.x, a.f.y, b.f.x, b.f.y].map((f) => Buffer.from(f, 'base64').subarray(0, 12).toString('hex'));
    expect(new Set(nonces).size).toBe(4);
    expect(a.f.x).not.toBe(a.f.y);
  });

  it('opens right after a seal without a KEK call, and a cold envelope with exactly one', async () => {
    const sealed = await cipher.seal(loc, fields);
    await cipher.open(loc, sealed);
    expect(wrapper.unwraps).toBe(0);
    const other = cold();
    await Promise.all(Array.from({ length: 25 }, () => other.open(loc, sealed)));
    expect(wrapper.unwraps).toBe(1);
    for (let i = 0; i < 100; i++) await other.open(loc, sealed);
    expect(wrapper.unwraps).toBe(1);
  });

  it.each([
    ['the ciphertext', 12],
    ['the nonce', 0],
    ['the tag', -1],
  ])('rejects a flipped byte in %s as Tampered', async (_what, index) => {
    const envelope = decode(await cipher.seal(loc, fields));
    envelope.f.accessToken = flip(envelope.f.accessToken, index);
    await expect(cipher.open(loc, encode(envelope))).rejects.toMatchObject({ code: 'DecryptionTampered' });
  });

  it('rejects a flipped byte in the wrapped DEK as UnwrapFailed', async () => {
    const envelope = decode(await cipher.seal(loc, fields));
    envelope.dek = flip(envelope.dek, 10);
    await expect(cipher.open(loc, encode(envelope))).rejects.toMatchObject({ code: 'DecryptionUnwrapFailed' });
  });

  it.each([
    ['row', { ...loc, rowKey: 'bob' }],
    ['partition', { ...loc, partitionKey: 'gitlab' }],
    ['table', { ...loc, table: 'credmanProviders' }],
  ])('rejects an envelope moved to another %s as Tampered', async (_what, elsewhere) => {
    const sealed = await cipher.seal(loc, fields);
    await expect(cipher.open(elsewhere, sealed)).rejects.toMatchObject({ code: 'DecryptionTampered' });
  });

  it('does not confuse location parts that concatenate alike', async () => {
    const sealed = await cipher.seal({ table: 't', partitionKey: 'ab', rowKey: 'c' }, fields);
    await expect(cipher.open({ table: 't', partitionKey: 'a', rowKey: 'bc' }, sealed)).rejects.toMatchObject({ code: 'DecryptionTampered' });
  });

  it('rejects a ciphertext moved to another field, or a dropped field, as Tampered', async () => {
    const envelope = decode(await cipher.seal(loc, fields));
    const swapped = { ...envelope, f: { ...envelope.f, accessToken: envelope.f.refreshToken, refreshToken: envelope.f.accessToken } };
    await expect(cipher.open(loc, encode(swapped))).rejects.toMatchObject({ code: 'DecryptionTampered' });
    const { idToken: _dropped, ...rest } = envelope.f;
    await expect(cipher.open(loc, encode({ ...envelope, f: rest }))).rejects.toMatchObject({ code: 'DecryptionTampered' });
  });

  it('rejects a field copied from another envelope of the same row as Tampered', async () => {
    const a = decode(await cipher.seal(loc, fields));
    const b = decode(await cipher.seal(loc, { ...fields, accessToken: 'other' }));
    await expect(cipher.open(loc, encode({ ...a, f: { ...a.f, accessToken: b.f.accessToken } }))).rejects.toMatchObject({
      code: 'DecryptionTampered',
    });
  });

  it('rejects a changed key version: unknown → UnknownKeyVersion, another one → UnwrapFailed', async () => {
    const envelope = decode(await cipher.seal(loc, fields));
    await expect(cipher.open(loc, encode({ ...envelope, kid: 'local:00000000000000000000000000000000' }))).rejects.toMatchObject({
      code: 'DecryptionUnknownKeyVersion',
    });
    const newId = await wrapper.inner.rotate();
    await expect(cipher.open(loc, encode({ ...envelope, kid: newId }))).rejects.toMatchObject({ code: 'DecryptionUnwrapFailed' });
  });

  it.each([
    ['not JSON', 'nope'],
    ['another version', JSON.stringify({ v: 2, kid: 'local:x', dek: 'AAAA', f: {} })],
    ['no key id', JSON.stringify({ v: 1, dek: 'AAAA', f: {} })],
    ['fields not an object', JSON.stringify({ v: 1, kid: 'local:x', dek: 'AAAA', f: [] })],
    ['a field that is not base64', JSON.stringify({ v: 1, kid: 'local:x', dek: 'AAAA', f: { a: '!!!' } })],
    ['a field too short for nonce and tag', JSON.stringify({ v: 1, kid: 'local:x', dek: 'AAAA', f: { a: 'AAAA' } })],
  ])('rejects %s as Malformed', async (_what, sealed) => {
    await expect(cipher.open(loc, sealed)).rejects.toMatchObject({ code: 'DecryptionMalformed' });
    expect(wrapper.unwraps).toBe(0);
  });

  it('never puts secrets in error messages', async () => {
    const envelope = decode(await cipher.seal(loc, fields));
    envelope.f.accessToken = flip(envelope.f.accessToken, 14);
    const err = await cipher.open(loc, encode(envelope)).catch((e: Error) => e);
    expect(String(err as Error)).not.toMatch(/gho_|ghr_/);
    expect(JSON.stringify(err)).not.toContain(envelope.dek);
  });

  it('rewraps only the DEK onto the current version', async () => {
    const sealed = await cipher.seal(loc, fields);
    expect(await cipher.rewrap(sealed)).toBe(sealed);
    const newId = await wrapper.inner.rotate();
    const rewrapped = await cipher.rewrap(sealed);
    expect(cipher.keyIdOf(sealed)).not.toBe(newId);
    expect(cipher.keyIdOf(rewrapped)).toBe(newId);
    expect(decode(rewrapped).f).toEqual(decode(sealed).f);
    expect(await cold().open(loc, rewrapped)).toEqual(fields);
    expect(await cold().open(loc, sealed)).toEqual(fields);
  });

  it('reads the key id without a key operation', async () => {
    const sealed = await cipher.seal(loc, fields);
    expect(cipher.keyIdOf(sealed)).toBe(await wrapper.currentKeyId());
    expect(() => cipher.keyIdOf('{')).toThrow(expect.objectContaining({ code: 'DecryptionMalformed' }));
  });
});
