import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';

describe('LocalKeyWrapper', () => {
  let dir: string;
  let file: string;
  let logs: string[];
  const log = (msg: string) => logs.push(msg);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'credman-kek-'));
    file = join(dir, 'nested', 'deeper', 'local-kek.json');
    logs = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates the key file on first run, mode 0600, and says it is not for production', async () => {
    const wrapper = await LocalKeyWrapper.open(file, log);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const content = JSON.parse(await readFile(file, 'utf8')) as { current: string; keys: Record<string, string> };
    expect(Object.keys(content.keys)).toEqual([content.current]);
    expect(Buffer.from(content.keys[content.current], 'base64')).toHaveLength(32);
    expect(await wrapper.currentKeyId()).toBe(`local:${content.current}`);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/NOT for production/);
    expect(logs[0]).not.toContain(content.keys[content.current]);
  });

  it('reuses the key file on later runs', async () => {
    const first = await LocalKeyWrapper.open(file, log);
    const dek = randomBytes(32);
    const wrapped = await first.wrap(dek);
    const second = await LocalKeyWrapper.open(file, log);
    expect(await second.unwrap(wrapped)).toEqual(dek);
    expect(logs[1]).toMatch(/read from/);
  });

  it('agrees on one key when two processes start together', async () => {
    const [a, b] = await Promise.all([LocalKeyWrapper.open(file, log), LocalKeyWrapper.open(file, log)]);
    expect(await a.currentKeyId()).toBe(await b.currentKeyId());
  });

  it('wraps with AES key wrap under a versioned key id', async () => {
    const wrapper = await LocalKeyWrapper.open(file, log);
    const dek = randomBytes(32);
    const wrapped = await wrapper.wrap(dek);
    expect(wrapped.keyId).toMatch(/^local:[0-9a-f]{32}$/);
    expect(wrapped.wrapped).toHaveLength(40);
    expect(await wrapper.unwrap(wrapped)).toEqual(dek);
  });

  it('fails with typed errors on an unknown version or changed bytes', async () => {
    const wrapper = await LocalKeyWrapper.open(file, log);
    const wrapped = await wrapper.wrap(randomBytes(32));
    await expect(wrapper.unwrap({ ...wrapped, keyId: 'local:0000' })).rejects.toMatchObject({ code: 'DecryptionUnknownKeyVersion' });
    await expect(wrapper.unwrap({ ...wrapped, keyId: 'https://v.vault.azure.net/keys/k/1' })).rejects.toMatchObject({ code: 'DecryptionUnknownKeyVersion' });
    const flipped = Buffer.from(wrapped.wrapped);
    flipped[5] ^= 0x01;
    await expect(wrapper.unwrap({ ...wrapped, wrapped: flipped })).rejects.toMatchObject({ code: 'DecryptionUnwrapFailed' });
  });

  it('rotates to a new current version and still unwraps the old one', async () => {
    const wrapper = await LocalKeyWrapper.open(file, log);
    const dek = randomBytes(32);
    const old = await wrapper.wrap(dek);
    const newId = await wrapper.rotate();
    expect(newId).not.toBe(old.keyId);
    expect((await wrapper.wrap(dek)).keyId).toBe(newId);
    expect(await wrapper.unwrap(old)).toEqual(dek);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const reopened = await LocalKeyWrapper.open(file, log);
    expect(await reopened.currentKeyId()).toBe(newId);
    expect(await reopened.unwrap(old)).toEqual(dek);
    // The other version's key is a different key: its integrity check fails.
    await expect(reopened.unwrap({ ...old, keyId: newId })).rejects.toMatchObject({ code: 'DecryptionUnwrapFailed' });
  });
});
