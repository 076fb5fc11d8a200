import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { settingsSchema } from '../../shared/settings';
import { ROOT, moduleParams, params, readBicep, varObject } from './bicep';

// Every setting the app reads must reach it in Azure (Bicep app settings) and on a laptop
// (local.settings.sample.json), except these, each for the reason given.
const NOT_SET_BY_BICEP: Record<string, string> = {
  WEBSITE_HOSTNAME: "set by the platform to the app's host name",
  CREDMAN_STORAGE_CONNECTION_STRING: 'Azure uses CREDMAN_TABLE_ENDPOINT with the managed identity: no key leaves the account',
  CREDMAN_LOCAL_KEK_FILE: 'read only when CREDMAN_KEK_PROVIDER=local; Azure uses the Key Vault KEK',
};
const NOT_IN_LOCAL_SAMPLE: Record<string, string> = {
  WEBSITE_HOSTNAME: 'set by App Service in Azure; a laptop has CREDMAN_PUBLIC_BASE_URL instead',
};

const schemaKeys = Object.keys(settingsSchema.shape);
const main = readBicep('main.bicep');
const appSettings = readBicep('app/appsettings.bicep');

/** Every app setting the deployment writes, with the Bicep expression of its value. */
function bicepAppSettings(): Map<string, string> {
  const merged = new Map<string, string>();
  for (const source of [varObject(appSettings, 'hostSettings'), varObject(main, 'credmanSettings'), varObject(appSettings, 'identitySettings')]) {
    for (const [key, entry] of source) merged.set(key, entry.value);
  }
  return merged;
}

describe('app settings in Bicep', () => {
  it('are all written to the Function App, credmanSettings passed through from main.bicep', () => {
    expect(moduleParams(appSettings, 'settings').get('properties')?.value).toBe('union(hostSettings, credmanSettings, identitySettings)');
    expect(moduleParams(appSettings, 'settings').get('name')?.value).toBe("'appsettings'");
    expect(moduleParams(main, 'appSettings').get('credmanSettings')?.value).toBe('credmanSettings');
  });

  it('set every setting of the schema but the documented exclusions', () => {
    const settings = bicepAppSettings();
    const missing = schemaKeys.filter((k) => !settings.has(k) && !(k in NOT_SET_BY_BICEP));
    expect(missing).toEqual([]);
  });

  it('set no CREDMAN_ setting that the schema does not know (a typo would be ignored silently)', () => {
    const unknown = [...bicepAppSettings().keys()].filter((k) => k.startsWith('CREDMAN_') && !schemaKeys.includes(k));
    expect(unknown).toEqual([]);
  });

  it('keep the exclusion lists honest: nothing excluded is set anyway, everything excluded exists', () => {
    const settings = bicepAppSettings();
    for (const key of Object.keys(NOT_SET_BY_BICEP)) {
      expect(schemaKeys).toContain(key);
      expect(settings.has(key)).toBe(false);
    }
  });

  it('give the values Azure needs', () => {
    const settings = bicepAppSettings();
    expect(settings.get('CREDMAN_KEK_PROVIDER')).toBe("'keyvault'");
    expect(settings.get('CREDMAN_KEY_VAULT_KEY_ID')).toBe('keyVault.outputs.kekUri');
    expect(settings.get('CREDMAN_TABLE_ENDPOINT')).toMatch(/^'https:\/\/\$\{storage\.outputs\.name\}\.table\./);
    expect(settings.get('CREDMAN_APP_TENANT_ID')).toBe('tenant().tenantId');
    expect(settings.get('CREDMAN_APP_OBJECT_ID')).toBe('appPrincipalId');
    expect(moduleParams(main, 'appSettings').get('appPrincipalId')?.value).toBe('api.outputs.principalId');
    expect(settings.get('CREDMAN_AUTH_AUDIENCES')).toBe("'${appClientId},${appIdentifierUri}'");
    expect(settings.get('CREDMAN_AUTH_ISSUERS')).toBe('string(concat([entraIssuer], extraTrustedIssuers))');
    expect(settings.get('CREDMAN_ALLOW_PRIVATE_NETWORKS')).toBe("'false'");
    expect(settings.get('CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS')).toBe('idpAllowedPrivateHosts');
    // ARM's string(true) is 'True', which the schema refuses: booleans go through a ternary.
    const booleans = params(main)
      .filter((p) => p.type === 'bool')
      .map((p) => p.name);
    expect(booleans).toContain('tokenCache');
    for (const value of settings.values()) expect(booleans.map((b) => `string(${b})`)).not.toContain(value);
  });

  it("trust this tenant's Entra v2 issuer, marked entra", () => {
    const issuer = varObject(main, 'entraIssuer');
    expect(issuer.get('issuer')?.value).toBe("'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'");
    expect(issuer.get('jwksUri')?.value).toBe("'${environment().authentication.loginEndpoint}${tenant().tenantId}/discovery/v2.0/keys'");
    expect(issuer.get('kind')?.value).toBe("'entra'");
  });

  it('connect the Functions host to storage and Application Insights by identity', () => {
    const host = varObject(appSettings, 'hostSettings');
    for (const key of [
      'AzureWebJobsStorage__accountName',
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__queueServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ]) {
      expect(host.has(key)).toBe(true);
    }
    expect(host.get('AzureWebJobsStorage__credential')?.value).toBe("'managedidentity'");
    expect(host.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')?.value).toBe("'Authorization=AAD'");
    expect([...host.keys()].filter((k) => k === 'AzureWebJobsStorage' || /^(FUNCTIONS_WORKER_RUNTIME|FUNCTIONS_EXTENSION_VERSION|WEBSITE_NODE_DEFAULT_VERSION)$/.test(k))).toEqual([]);
  });
});

describe('local.settings.sample.json', () => {
  it('lists every setting of the schema but the documented exclusions', () => {
    const sample = JSON.parse(readFileSync(join(ROOT, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
    const missing = schemaKeys.filter((k) => !(k in sample.Values) && !(k in NOT_IN_LOCAL_SAMPLE));
    expect(missing).toEqual([]);
  });
});
