import type { EmbeddedAzurite } from '../../local/azurite';
import { fakeAzureEnvironment } from '../../local/fakes/azureEnvironment';
import type { FakeKeyVault } from '../../local/fakes/keyVault';
import { loadSettings, type Settings } from '../../shared/settings';

/** Settings as in Azure (Key Vault KEK, Table Storage), pointed at Azurite and the fake vault. */
export function azureSettings(azurite: EmbeddedAzurite, vault: FakeKeyVault): Settings {
  return loadSettings(fakeAzureEnvironment(azurite.connectionString, vault.keyId()));
}
