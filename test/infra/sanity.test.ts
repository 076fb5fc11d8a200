import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, declarationOffset, moduleParams, nested, objectEntries, readBicep } from './bicep';

const main = readBicep('main.bicep');

describe('Key Vault', () => {
  const keyVault = readBicep('app/keyvault.bicep');
  const vault = moduleParams(keyVault, 'vault');

  it('is in RBAC mode with soft delete and purge protection, said explicitly', () => {
    expect(vault.get('enableRbacAuthorization')?.value).toBe('true');
    expect(vault.get('enableSoftDelete')?.value).toBe('true');
    expect(vault.get('enablePurgeProtection')?.value).toBe('true');
  });

  it('holds an RSA KEK for wrapKey/unwrapKey only, rotating monthly, notifying before expiry', () => {
    const resource = objectEntries(keyVault, declarationOffset(keyVault, 'resource', 'kek'));
    expect(resource.get('name')?.value).toBe('kekName');
    const kek = nested(keyVault, resource, 'properties');
    expect(keyVault.text).toMatch(/^param kekName string = 'credman-kek'$/m);
    expect(kek.get('kty')?.value).toBe("'RSA'");
    expect(keyVault.text).toMatch(/^param kekSize int = (2048|3072)$/m);
    expect(kek.get('keyOps')?.value).toBe("['wrapKey', 'unwrapKey']");
    const policy = nested(keyVault, kek, 'rotationPolicy');
    expect(policy.get('attributes')?.value).toBe('{ expiryTime: expiryTime }');
    const actions = policy.get('lifetimeActions')?.value ?? '';
    expect(actions).toContain("{ action: { type: 'rotate' }, trigger: { timeAfterCreate: rotateAfter } }");
    expect(actions).toContain("{ action: { type: 'notify' }, trigger: { timeBeforeExpiry: notifyBeforeExpiry } }");
    expect(keyVault.text).toMatch(/^param rotateAfter string = 'P30D'$/m);
    expect(keyVault.text).toMatch(/^param notifyBeforeExpiry string = 'P7D'$/m);
    expect(keyVault.text).toMatch(/^param expiryTime string = 'P90D'$/m);
  });

  it('gives the app the key without a version, so that it follows rotations', () => {
    expect(keyVault.text).toMatch(/^output kekUri string = 'https:\/\/\$\{vault\.outputs\.name\}\$\{environment\(\)\.suffixes\.keyvaultDns\}\/keys\/\$\{kekName\}'$/m);
  });
});

describe('storage', () => {
  it('refuses shared keys and public blobs', () => {
    const storage = moduleParams(main, 'storage');
    expect(storage.get('allowSharedKeyAccess')?.value).toBe('false');
    expect(storage.get('allowBlobPublicAccess')?.value).toBe('false');
    expect(storage.get('blobServices')?.value).toContain('deploymentContainerName');
  });
});

describe('Function App', () => {
  const api = readBicep('app/api.bicep');
  const site = moduleParams(api, 'site');

  it('runs on a Flex Consumption (FC1) plan', () => {
    const plan = moduleParams(main, 'plan');
    expect(plan.get('skuName')?.value).toBe("'FC1'");
    expect(plan.get('reserved')?.value).toBe('true');
    expect(moduleParams(main, 'api').get('planId')?.value).toBe('plan.outputs.resourceId');
    expect(site.get('serverFarmResourceId')?.value).toBe('planId');
    expect(site.get('kind')?.value).toBe("'functionapp,linux'");
  });

  it('runs Node 22 with a system-assigned identity that also reads the deployment package', () => {
    const config = nested(api, site, 'functionAppConfig');
    expect(config.get('runtime')?.value).toBe("{ name: 'node', version: '22' }");
    expect(site.get('managedIdentities')?.value).toBe('{ systemAssigned: true }');
    const storage = nested(api, nested(api, config, 'deployment'), 'storage');
    expect(storage.get('authentication')?.value).toBe("{ type: 'SystemAssignedIdentity' }");
    expect(nested(api, site, 'siteConfig').get('alwaysOn')?.value).toBe('false');
  });

  it("is the target of azd's api service", () => {
    expect(site.get('tags')?.value).toContain("'azd-service-name': 'api'");
    const azureYaml = readFileSync(join(ROOT, 'azure.yaml'), 'utf8');
    expect(azureYaml).toMatch(/^ {2}api:\n {4}project: \.\n {4}language: ts\n {4}host: function$/m);
  });
});

describe('Application Insights', () => {
  it('is workspace-based and takes Entra-authenticated telemetry only', () => {
    const appInsights = moduleParams(main, 'appInsights');
    expect(appInsights.get('workspaceResourceId')?.value).toBe('logAnalytics.outputs.resourceId');
    expect(appInsights.get('disableLocalAuth')?.value).toBe('true');
  });
});

describe('Entra app registration', () => {
  const entra = readBicep('app/entra.bicep');
  const app = objectEntries(entra, declarationOffset(entra, 'resource', 'app'));

  it('asks for v2 tokens and defines the admin role that CREDMAN_ADMIN_ROLE names', () => {
    expect(nested(entra, app, 'api').get('requestedAccessTokenVersion')?.value).toBe('2');
    expect(nested(entra, app, 'appRoles').get('value')?.value).toBe('adminRole');
    expect(moduleParams(main, 'entra').get('adminRole')?.value).toBe('adminRole');
    expect(main.text).toMatch(/^param adminRole string = 'Credman\.Admin'$/m);
    expect(app.get('identifierUris')?.value).toBe('[identifierUri]');
  });

  it('is optional, an existing registration taking its place', () => {
    expect(main.text).toMatch(/^module entra 'app\/entra\.bicep' = if \(createEntraApp\) \{$/m);
    expect(main.text).toMatch(/^var appClientId = createEntraApp \? entra!\.outputs\.clientId : existingAppClientId$/m);
  });
});

describe('host.json', () => {
  it('names the durable task hub, so that renaming the app does not orphan orchestrations', () => {
    const host = JSON.parse(readFileSync(join(ROOT, 'host.json'), 'utf8')) as { extensions: { durableTask?: { hubName?: string } } };
    expect(host.extensions.durableTask?.hubName).toMatch(/^[A-Za-z][A-Za-z0-9]{2,44}$/);
  });
});
