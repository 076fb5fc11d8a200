import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { INFRA, ROOT, declarations, moduleParams, nested, objectEntries, readBicep, type BicepFile } from './bicep';

interface NeededRole {
  role: string;
  id: string;
  scope: string;
  why: string;
  usedBy: { path: string; pattern: string }[];
}

const needed = (JSON.parse(readFileSync(join(INFRA, 'roles.json'), 'utf8')) as { roles: NeededRole[] }).roles;
const rbac = readBicep('app/rbac.bicep');
const main = readBicep('main.bicep');
const ROLE_ASSIGNMENT = 'Microsoft.Authorization/roleAssignments';

/** Role definition id of each `var <name> = '<guid>'` of rbac.bicep. */
function roleVars(file: BicepFile): Map<string, string> {
  const vars = new Map<string, string>();
  const pattern = /^var\s+(\w+)\s*=\s*'/gm;
  for (let m = pattern.exec(file.code); m; m = pattern.exec(file.code)) {
    const value = file.text.slice(m.index + m[0].length, file.text.indexOf("'", m.index + m[0].length));
    if (/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(value)) vars.set(m[1], value);
  }
  return vars;
}

interface Assignment {
  symbol: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
}

function assignments(file: BicepFile): Assignment[] {
  return declarations(file, 'resource')
    .filter((r) => r.target.startsWith(`${ROLE_ASSIGNMENT}@`))
    .map((r) => {
      const body = objectEntries(file, r.offset);
      const properties = nested(file, body, 'properties');
      return {
        symbol: r.symbol,
        name: body.get('name')?.value ?? '',
        scope: body.get('scope')?.value ?? '',
        roleDefinitionId: properties.get('roleDefinitionId')?.value ?? '',
        principalId: properties.get('principalId')?.value ?? '',
      };
    });
}

function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(path, e.name)) : /\.(ts|json)$/.test(e.name) ? [join(path, e.name)] : []));
}

const vars = roleVars(rbac);
const found = assignments(rbac);
const scopeTypes = new Map(
  declarations(rbac, 'resource')
    .filter((r) => r.existing)
    .map((r) => [r.symbol, r.target.split('@')[0]]),
);

describe('infra/roles.json: the roles the app needs', () => {
  it.each(needed.map((r) => [r.role, r] as const))('%s: the code really uses the service', (_, role) => {
    expect(role.why.length).toBeGreaterThan(20);
    for (const { path, pattern } of role.usedBy) {
      const matches = filesUnder(join(ROOT, path)).filter((f) => new RegExp(pattern).test(readFileSync(f, 'utf8')));
      expect({ path, pattern, used: matches.length > 0 }).toEqual({ path, pattern, used: true });
    }
  });

  it.each(needed.map((r) => [r.role, r] as const))("%s: rbac.bicep assigns it to the app's identity at the right scope", (_, role) => {
    const variable = [...vars].find(([, id]) => id === role.id)?.[0];
    expect({ role: role.role, variable }).toEqual({ role: role.role, variable: expect.any(String) });
    const assignment = found.find((a) => a.roleDefinitionId === `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${variable})`);
    expect(assignment).toBeDefined();
    const { scope, name, principalId } = assignment!;
    expect({ role: role.role, scopeType: scopeTypes.get(scope) }).toEqual({ role: role.role, scopeType: role.scope });
    expect(principalId).toBe('appPrincipalId');
    expect(name).toBe(`guid(${scope}.id, appPrincipalId, ${variable})`);
  });
});

describe('role assignments', () => {
  it('are only those roles.json explains (least privilege)', () => {
    const explained = needed.map((r) => r.id);
    const assigned = found.map((a) => vars.get(/, (\w+)\)$/.exec(a.roleDefinitionId)?.[1] ?? ''));
    expect(assigned.sort()).toEqual(explained.sort());
  });

  it("go to the Function App's system-assigned identity, the Key Vault one on the KEK itself", () => {
    const params = moduleParams(main, 'rbac');
    expect(params.get('appPrincipalId')?.value).toBe('api.outputs.principalId');
    expect(params.get('kekName')?.value).toBe('keyVault.outputs.kekName');
    const api = readBicep('app/api.bicep');
    expect(api.text).toMatch(/^output principalId string = site\.outputs\.\?systemAssignedMIPrincipalId/m);
  });

  it('all live in rbac.bicep: no other file assigns roles, directly or through an AVM parameter', () => {
    const others = ['main.bicep', 'app/api.bicep', 'app/keyvault.bicep', 'app/appsettings.bicep', 'app/entra.bicep'].map(readBicep);
    for (const file of others) {
      expect({ file: file.path, direct: declarations(file, 'resource').some((r) => r.target.startsWith(ROLE_ASSIGNMENT)) }).toEqual({ file: file.path, direct: false });
      expect({ file: file.path, viaAvm: /^\s*roleAssignments\s*:/m.test(file.code) }).toEqual({ file: file.path, viaAvm: false });
    }
  });
});
