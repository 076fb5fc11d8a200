import { loadSettings, SettingsError } from '../../shared/settings';

const valid = {
  CREDMAN_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  CREDMAN_KEK_PROVIDER: 'keyvault',
  CREDMAN_KEY_VAULT_KEY_ID: 'https://v.vault.azure.net/keys/credman-kek',
  CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://login.microsoftonline.com/t/v2.0', jwksUri: 'https://login.microsoftonline.com/t/discovery/v2.0/keys' }]),
  CREDMAN_AUTH_AUDIENCES: 'api://credman',
  CREDMAN_APP_TENANT_ID: '11111111-1111-4111-8111-111111111111',
  CREDMAN_APP_OBJECT_ID: '22222222-2222-4222-8222-222222222222',
  WEBSITE_HOSTNAME: 'credman.azurewebsites.net',
};

describe('loadSettings', () => {
  it('returns a frozen typed object with defaults', () => {
    const s = loadSettings(valid);
    expect(s.kek).toEqual({ provider: 'keyvault', keyId: valid.CREDMAN_KEY_VAULT_KEY_ID });
    expect(s.publicBaseUrl).toBe('https://credman.azurewebsites.net');
    expect(s.auth.issuers[0].audiences).toEqual(['api://credman']);
    expect(s.auth.adminRole).toBe('Credman.Admin');
    expect(s.dekCache).toEqual({ ttlMs: 900000, maxEntries: 10000 });
    expect(Object.isFrozen(s) && Object.isFrozen(s.auth.issuers[0])).toBe(true);
  });

  it('names every missing or malformed setting in one error', () => {
    const env: Record<string, string | undefined> = {
      ...valid,
      CREDMAN_KEY_VAULT_KEY_ID: undefined,
      CREDMAN_APP_OBJECT_ID: 'not-a-guid',
      CREDMAN_AUTH_ISSUERS: '[{"issuer": 1}]',
      CREDMAN_DEK_CACHE_TTL_SECONDS: '-5',
      CREDMAN_STORAGE_CONNECTION_STRING: undefined,
    };
    let error: unknown;
    try {
      loadSettings(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const names = (error as SettingsError).problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(expect.arrayContaining(['CREDMAN_APP_OBJECT_ID', 'CREDMAN_AUTH_ISSUERS', 'CREDMAN_DEK_CACHE_TTL_SECONDS']));
    // Cross-field rules run once the fields parse: fix those, and the remaining ones are named.
    let second: unknown;
    try {
      loadSettings({ ...valid, CREDMAN_KEY_VAULT_KEY_ID: undefined, CREDMAN_STORAGE_CONNECTION_STRING: undefined });
    } catch (err) {
      second = err;
    }
    expect((second as SettingsError).problems.map((p) => p.split(':')[0]).sort()).toEqual(['CREDMAN_KEY_VAULT_KEY_ID', 'CREDMAN_TABLE_ENDPOINT']);
  });

  it('treats blank values as unset', () => {
    const s = loadSettings({ ...valid, CREDMAN_TABLE_ENDPOINT: '', CREDMAN_DEK_CACHE_TTL_SECONDS: ' ' });
    expect(s.storage.tableEndpoint).toBeUndefined();
    expect(s.dekCache.ttlMs).toBe(900000);
  });

  it("reads the console's sign-in, and refuses one that is not { authority, clientId, scopes }", () => {
    expect(loadSettings(valid).console).toEqual({});
    const oidc = { authority: 'https://login.microsoftonline.com/t/v2.0/', clientId: 'c1', scopes: 'openid api://credman/user_impersonation' };
    expect(loadSettings({ ...valid, CREDMAN_CONSOLE_OIDC: JSON.stringify(oidc) }).console).toEqual({ oidc: { ...oidc, authority: 'https://login.microsoftonline.com/t/v2.0' } });
    for (const bad of ['not json', '{}', JSON.stringify({ ...oidc, authority: 'not a url' }), JSON.stringify({ ...oidc, extra: 1 })]) {
      expect(() => loadSettings({ ...valid, CREDMAN_CONSOLE_OIDC: bad })).toThrow(/CREDMAN_CONSOLE_OIDC/);
    }
  });

  it('rejects a malformed issuers value with a readable message', () => {
    expect(() => loadSettings({ ...valid, CREDMAN_AUTH_ISSUERS: 'not json' })).toThrow(/CREDMAN_AUTH_ISSUERS: must be a JSON array/);
  });
});
