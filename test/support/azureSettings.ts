import type { EmbeddedAzurite } from '../../local/azurite';
import { fakeAzureEnvironment } from '../../local/fakes/azureEnvironment';
import type { FakeKeyVault } from '../../local/fakes/keyVault';
import { loadSettings, type Settings } from '../../shared/settings';

/**
 * Settings as in Azure (Key Vault KEK, Table Storage, private networks refused), pointed at
 * Azurite and the fake vault; test identity providers on loopback are allow-listed as a private
 * identity provider would be.
 */
export function azureSettings(azurite: EmbeddedAzurite, vault: FakeKeyVault): Settings {
  return loadSettings(fakeAzureEnvironment(azurite.connectionString, vault.keyId(), { CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: '127.0.0.1' }));
}
