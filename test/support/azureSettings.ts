import type { EmbeddedAzurite } from '../../local/azurite';
import type { FakeKeyVault } from '../../local/fakes/keyVault';
import { loadSettings, type Settings } from '../../shared/settings';

/** Settings as in Azure (Key Vault KEK, Table Storage), pointed at Azurite and the fake vault. */
export function azureSettings(azurite: EmbeddedAzurite, vault: FakeKeyVault): Settings {
  return loadSettings({
    CREDMAN_STORAGE_CONNECTION_STRING: azurite.connectionString,
    CREDMAN_KEK_PROVIDER: 'keyvault',
    CREDMAN_KEY_VAULT_KEY_ID: vault.keyId(),
    CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/keys' }]),
    CREDMAN_AUTH_AUDIENCES: 'api://credman',
    CREDMAN_APP_TENANT_ID: '11111111-1111-4111-8111-111111111111',
    CREDMAN_APP_OBJECT_ID: '22222222-2222-4222-8222-222222222222',
    WEBSITE_HOSTNAME: 'credman.example',
  });
}
