// The app settings of an Azure deployment (Key Vault KEK, Table Storage), pointed at Azurite and
// the fake Key Vault: what the composition tests and the lifecycle bench run the app with.

export function fakeAzureEnvironment(storageConnectionString: string, keyVaultKeyId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CREDMAN_STORAGE_CONNECTION_STRING: storageConnectionString,
    CREDMAN_KEK_PROVIDER: 'keyvault',
    CREDMAN_KEY_VAULT_KEY_ID: keyVaultKeyId,
    CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/keys' }]),
    CREDMAN_AUTH_AUDIENCES: 'api://credman',
    CREDMAN_APP_TENANT_ID: '11111111-1111-4111-8111-111111111111',
    CREDMAN_APP_OBJECT_ID: '22222222-2222-4222-8222-222222222222',
    WEBSITE_HOSTNAME: 'credman.example',
    ...extra,
  };
}
