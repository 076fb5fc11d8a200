import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CONSOLE_BASE, CONSOLE_CALLBACK } from '../../shared/consolePaths';
import { INFRA, declarations, moduleParams, params, readBicep, varObject } from './bicep';

const bicepFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? bicepFiles(join(dir, e.name)) : e.name.endsWith('.bicep') ? [relative(INFRA, join(dir, e.name))] : []));

const files = bicepFiles(INFRA);
const AVM = /^br\/public:avm\/(res|ptn|utl)\/[a-z0-9-]+(\/[a-z0-9-]+)+:(\d+\.\d+\.\d+)$/;

describe('infra modules', () => {
  it('finds one module per concern under infra/app', () => {
    expect(files.sort()).toEqual(expect.arrayContaining(['main.bicep', 'app/api.bicep', 'app/keyvault.bicep', 'app/rbac.bicep', 'app/entra.bicep', 'app/appsettings.bicep']));
  });

  it.each(files)('%s: every local module exists, every registry module is an AVM pinned to x.y.z', (file) => {
    for (const { symbol, target } of declarations(readBicep(file), 'module')) {
      if (target.startsWith('br')) {
        expect({ symbol, target, pinned: AVM.test(target) }).toEqual({ symbol, target, pinned: true });
      } else {
        expect({ symbol, target, exists: existsSync(join(INFRA, dirname(file), target)) }).toEqual({ symbol, target, exists: true });
      }
    }
  });

  it('uses each AVM at one version only', () => {
    const versions = new Map<string, Set<string>>();
    for (const file of files) {
      for (const { target } of declarations(readBicep(file), 'module')) {
        const [name, version] = [target.slice(0, target.lastIndexOf(':')), target.slice(target.lastIndexOf(':') + 1)];
        if (target.startsWith('br')) versions.set(name, (versions.get(name) ?? new Set()).add(version));
      }
    }
    expect([...versions].filter(([, v]) => v.size > 1)).toEqual([]);
  });

  it('names the Graph extension that entra.bicep uses in bicepconfig.json, pinned', () => {
    const config = JSON.parse(readFileSync(join(INFRA, '..', 'bicepconfig.json'), 'utf8')) as { extensions: Record<string, string> };
    expect(readBicep('app/entra.bicep').code).toMatch(/^extension microsoftGraphV1$/m);
    expect(config.extensions.microsoftGraphV1).toMatch(/^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:\d+\.\d+\.\d+$/);
  });
});

describe('infra/main.parameters.json', () => {
  const file = JSON.parse(readFileSync(join(INFRA, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: unknown }> };
  const declared = params(readBicep('main.bicep'));

  it('sets only parameters that main.bicep declares', () => {
    const names = declared.map((p) => p.name);
    expect(Object.keys(file.parameters).filter((k) => !names.includes(k))).toEqual([]);
  });

  it('sets every main.bicep parameter that has no default', () => {
    const required = declared.filter((p) => !p.hasDefault).map((p) => p.name);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((name) => !(name in file.parameters))).toEqual([]);
  });

  it("takes azd's environment, location and principal", () => {
    expect(file.parameters.environmentName.value).toBe('${AZURE_ENV_NAME}');
    expect(file.parameters.location.value).toBe('${AZURE_LOCATION}');
    expect(file.parameters.principalId.value).toBe('${AZURE_PRINCIPAL_ID}');
  });

  it('registers the console as a single-page app of the app registration and points its sign-in there', () => {
    const main = readBicep('main.bicep');
    expect(moduleParams(main, 'entra').get('consoleRedirectUris')?.value).toBe(`['\${baseUrl}${CONSOLE_CALLBACK}', '\${baseUrl}${CONSOLE_BASE}']`);
    expect(readBicep('app/entra.bicep').code).toMatch(/\n {2}spa: \{\n {4}redirectUris: consoleRedirectUris\n {2}\}/);
    const oidc = varObject(main, 'consoleOidc');
    expect(oidc.get('clientId')?.value).toBe('appClientId');
    expect(oidc.get('scopes')?.value).toBe("'openid profile offline_access ${appIdentifierUri}/user_impersonation'");
  });
});
