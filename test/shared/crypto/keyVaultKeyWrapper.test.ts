import type { AccessToken, TokenCredential } from '@azure/identity';
import type { CryptographyClientOptions } from '@azure/keyvault-keys';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher, type RecordLocation } from '../../../shared/crypto/envelope';
import { KeyVaultKeyWrapper, type KeyVaultKeyWrapperOptions } from '../../../shared/crypto/keyVaultKeyWrapper';
import { FakeKeyVault } from '../../../local/fakes/keyVault';

// The real @azure/keyvault-keys SDK, over TLS, against the in-repo fake of the Key Vault REST API.

const loc: RecordLocation = { table: 'credmanConnections', partitionKey: 'github', rowKey: 'alice' };
const fields = { accessToken: 'gho_access', refreshToken: 'ghr_refresh' };

describe('KeyVaultKeyWrapper against the Key Vault fake', () => {
  let vault: FakeKeyVault;
  let clock: number;

  beforeAll(async () => {
    vault = await FakeKeyVault.start();
  });
  afterAll(() => vault.close());
  beforeEach(() => {
    clock = 0;
    vault.failWith = undefined;
  });

  /** How the SDK is made to trust the fake: its certificate as the only CA, for this client only. */
  const sdkOptions = (): CryptographyClientOptions => ({
    tlsOptions: { ca: vault.certificatePem },
    // The challenge names https://vault.azure.net, which 127.0.0.1 is not a subdomain of.
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
  const newWrapper = (options: KeyVaultKeyWrapperOptions = {}, credential: TokenCredential = vault.credential) =>
    new KeyVaultKeyWrapper(vault.keyId(), credential, { clientOptions: sdkOptions(), now: () => clock, ...options });
  const newCipher = (wrapper: KeyVaultKeyWrapper) => new EnvelopeCipher(wrapper, new DekCache({ ttlMs: 60_000, maxEntries: 1_000 }));

  it('seals and opens through Key Vault, answering its bearer challenge first', async () => {
    vault.resetCalls();
    const cipher = newCipher(newWrapper());
    const sealed = await cipher.seal(loc, fields);
    expect(cipher.keyIdOf(sealed)).toMatch(new RegExp(`^${vault.keyId()}/[0-9a-f]{32}$`));
    expect(vault.calls.challenge).toBe(1);
    expect(await cipher.open(loc, sealed)).toEqual(fields);
    expect(await newCipher(newWrapper()).open(loc, sealed)).toEqual(fields);
  });

  it('wraps locally with the public key: one GET for the key, then no call per seal', async () => {
    const cipher = newCipher(newWrapper());
    vault.resetCalls();
    for (let i = 0; i < 20; i++) await cipher.seal(loc, fields);
    expect(vault.calls).toMatchObject({ get: 1, wrap: 0, unwrap: 0 });
  });

  it('can wrap through Key Vault instead', async () => {
    const cipher = newCipher(newWrapper({ wrapLocally: false }));
    vault.resetCalls();
    const sealed = await cipher.seal(loc, fields);
    expect(vault.calls).toMatchObject({ get: 1, wrap: 1, unwrap: 0 });
    expect(await newCipher(newWrapper()).open(loc, sealed)).toEqual(fields);
  });

  it('costs exactly one unwrap per cold envelope and none for 1,000 warm opens', async () => {
    const wrapper = newWrapper();
    const sealed = await newCipher(wrapper).seal(loc, fields);
    const reader = newCipher(wrapper);
    vault.resetCalls();
    await Promise.all(Array.from({ length: 20 }, () => reader.open(loc, sealed)));
    expect(vault.calls).toMatchObject({ get: 0, wrap: 0, unwrap: 1 });
    vault.resetCalls();
    for (let i = 0; i < 1_000; i++) await reader.open(loc, sealed);
    expect(vault.calls).toEqual({ challenge: 0, get: 0, wrap: 0, unwrap: 0 });
  });

  it('in a new process, a cold open also reads the key version once', async () => {
    const sealed = await newCipher(newWrapper()).seal(loc, fields);
    vault.resetCalls();
    await newCipher(newWrapper()).open(loc, sealed);
    expect(vault.calls).toMatchObject({ get: 1, unwrap: 1 });
  });

  it('after rotation, old envelopes still open, new ones use the new version, rewrap moves old ones', async () => {
    const wrapper = newWrapper({ currentKeyRefreshMs: 60_000 });
    const cipher = newCipher(wrapper);
    const before = await cipher.seal(loc, fields);
    const newVersion = await vault.rotate();
    expect(cipher.keyIdOf(await cipher.seal(loc, fields))).toBe(cipher.keyIdOf(before)); // not yet re-read
    clock += 60_000;
    const after = await cipher.seal(loc, fields);
    expect(cipher.keyIdOf(after)).toBe(`${vault.keyId()}/${newVersion}`);
    expect(await newCipher(wrapper).open(loc, before)).toEqual(fields);
    expect(await newCipher(wrapper).open(loc, after)).toEqual(fields);

    const rewrapped = await cipher.rewrap(before);
    expect(cipher.keyIdOf(rewrapped)).toBe(`${vault.keyId()}/${newVersion}`);
    expect(JSON.parse(rewrapped).f).toEqual(JSON.parse(before).f);
    vault.resetCalls();
    expect(await newCipher(wrapper).open(loc, rewrapped)).toEqual(fields);
    expect(vault.calls.unwrap).toBe(1);
    expect(await cipher.rewrap(rewrapped)).toBe(rewrapped);
  });

  it('re-reads the current version on demand, for key rotation started right after Key Vault rotated', async () => {
    const wrapper = newWrapper({ currentKeyRefreshMs: 60_000 });
    const old = await wrapper.currentKeyId();
    const newVersion = await vault.rotate();
    expect(await wrapper.currentKeyId()).toBe(old); // cached for the refresh interval
    expect(await wrapper.currentKeyId({ fresh: true })).toBe(`${vault.keyId()}/${newVersion}`);
    expect(await wrapper.currentKeyId()).toBe(`${vault.keyId()}/${newVersion}`);
  });

  it('maps an unknown version to UnknownKeyVersion, and never calls another vault', async () => {
    const cipher = newCipher(newWrapper());
    const envelope = JSON.parse(await cipher.seal(loc, fields)) as { kid: string };
    const unknown = JSON.stringify({ ...envelope, kid: `${vault.keyId()}/0123456789abcdef0123456789abcdef` });
    await expect(cipher.open(loc, unknown)).rejects.toMatchObject({ code: 'DecryptionUnknownKeyVersion' });
    vault.resetCalls();
    for (const kid of ['https://evil.vault.azure.net/keys/credman-kek/0123456789abcdef', `${vault.keyId()}-other/0123`, 'local:abc']) {
      await expect(cipher.open(loc, JSON.stringify({ ...envelope, kid }))).rejects.toMatchObject({ code: 'DecryptionUnknownKeyVersion' });
    }
    expect(vault.calls).toEqual({ challenge: 0, get: 0, wrap: 0, unwrap: 0 });
  });

  it('maps a garbled wrapped key, or the wrong version, to UnwrapFailed', async () => {
    const cipher = newCipher(newWrapper({ currentKeyRefreshMs: 0 }));
    const envelope = JSON.parse(await cipher.seal(loc, fields)) as { kid: string; dek: string };
    const garbled = Buffer.from(envelope.dek, 'base64');
    garbled[3] ^= 0x01;
    await expect(cipher.open(loc, JSON.stringify({ ...envelope, dek: garbled.toString('base64') }))).rejects.toMatchObject({
      code: 'DecryptionUnwrapFailed',
    });
    const newVersion = await vault.rotate();
    await expect(cipher.open(loc, JSON.stringify({ ...envelope, kid: `${vault.keyId()}/${newVersion}` }))).rejects.toMatchObject({
      code: 'DecryptionUnwrapFailed',
    });
  });

  it('maps outages, refused tokens and untrusted certificates to DependencyUnavailable', async () => {
    const sealed = await newCipher(newWrapper()).seal(loc, fields);
    const healthy = newWrapper();
    await healthy.check();
    vault.failWith = 503;
    await expect(newCipher(newWrapper()).open(loc, sealed)).rejects.toMatchObject({ code: 'DependencyUnavailable' });
    await expect(healthy.check()).rejects.toMatchObject({ code: 'DependencyUnavailable' });
    vault.failWith = undefined;

    const wrongToken: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: 'wrong', expiresOnTimestamp: Date.now() + 60_000 }) };
    await expect(newCipher(newWrapper({}, wrongToken)).open(loc, sealed)).rejects.toMatchObject({ code: 'DependencyUnavailable' });

    const untrusting = new KeyVaultKeyWrapper(vault.keyId(), vault.credential, {
      clientOptions: { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    });
    const err = await untrusting.check().catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'DependencyUnavailable' });
    expect(String((err as Error).cause)).not.toContain(vault.acceptedToken);
  });

  it('keeps wrapping with the known version while Key Vault is briefly unreachable', async () => {
    const wrapper = newWrapper({ currentKeyRefreshMs: 1_000 });
    const kid = await wrapper.currentKeyId();
    vault.failWith = 503;
    clock += 1_000;
    expect((await wrapper.wrap(Buffer.alloc(32, 1))).keyId).toBe(kid);
    vault.resetCalls();
    await wrapper.wrap(Buffer.alloc(32, 2));
    expect(vault.calls.get).toBe(0); // backs off instead of retrying on every wrap
  });

  it('refuses a versioned key id at construction', () => {
    expect(() => new KeyVaultKeyWrapper(`${vault.keyId()}/0123456789abcdef`, vault.credential)).toThrow(/must not name a version/);
  });
});
