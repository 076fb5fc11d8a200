import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { INFRA, ROOT, declarationOffset, declarations, moduleParams, nested, objectEntries, params, readBicep, type BicepFile, type Reference } from './bicep';

// A second `azd up` (or any redeployment) must succeed on what the first one left, including a KEK
// that Key Vault has rotated since. Writes that Azure does not treat as "create or update" are made
// only when an earlier deployment has not made them, which the deployment learns from a value azd
// carries between runs: an output of main.bicep that main.parameters.json reads back.

const bicepFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? bicepFiles(join(dir, e.name)) : e.name.endsWith('.bicep') ? [relative(INFRA, join(dir, e.name))] : []));

const files = bicepFiles(INFRA).map(readBicep);
const main = readBicep('main.bicep');
const parametersFile = JSON.parse(readFileSync(join(INFRA, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: unknown }> };

const resources = (type: string): { file: BicepFile; ref: Reference }[] =>
  files.flatMap((file) =>
    declarations(file, 'resource')
      .filter((r) => r.target.startsWith(`${type}@`) && !r.existing)
      .map((ref) => ({ file, ref })),
  );

/** The expression of a one-line `var <name> = <expression>`. */
function varExpression(file: BicepFile, name: string): string {
  const at = declarationOffset(file, 'var', name);
  const end = file.code.indexOf('\n', at);
  return file.text.slice(file.code.indexOf('=', at) + 1, end < 0 ? undefined : end).trim();
}

/** The expression of `output <name> <type> = <expression>` (one line). */
function outputExpression(file: BicepFile, name: string): string {
  const at = declarationOffset(file, 'output', name);
  const end = file.code.indexOf('\n', at);
  return file.text.slice(file.code.indexOf('=', at) + 1, end < 0 ? undefined : end).trim();
}

/**
 * The azd environment variable that fills main.bicep's parameter `param` and that main.bicep's
 * output of the same name sets after every successful deployment: the deployment's memory.
 */
function carriedByAzd(param: string): { variable: string; output: string } {
  const value = String(parametersFile.parameters[param]?.value);
  const match = /^\$\{([A-Z][A-Z0-9_]*)(=[^}]*)?\}$/.exec(value);
  expect({ param, fromAzdVariable: match !== null }).toEqual({ param, fromAzdVariable: true });
  const variable = match![1];
  expect(params(main).some((p) => p.name === param && p.hasDefault)).toBe(true);
  return { variable, output: outputExpression(main, variable) };
}

/** The module of main.bicep that deploys `file`. */
function moduleDeploying(file: BicepFile): Reference {
  const path = relative(INFRA, file.path);
  const found = declarations(main, 'module').find((m) => m.target === path);
  if (!found) throw new Error(`main.bicep deploys no module ${path}`);
  return found;
}

describe('a Key Vault key', () => {
  // Keys are written with ARM's "create if not exist": once a key exists, a PUT whose creation
  // parameters differ from the current version fails (KeyCreationParametersDidNotMatchExistingKey),
  // and none is ever applied. After a rotation the current version is one Key Vault made.
  const keys = resources('Microsoft.KeyVault/vaults/keys');

  it("is declared by credman's own Bicep, not passed to the AVM vault module (which writes its keys unconditionally)", () => {
    expect(keys.map(({ file, ref }) => `${relative(INFRA, file.path)}:${ref.symbol}`)).toEqual(['app/keyvault.bicep:kek']);
    for (const file of files) {
      for (const m of declarations(file, 'module').filter((d) => d.target.startsWith('br/public:avm/res/key-vault/vault:'))) {
        expect({ module: m.symbol, keys: moduleParams(file, m.symbol).has('keys') }).toEqual({ module: m.symbol, keys: false });
      }
    }
  });

  it('is written only by the deployment that creates it', () => {
    expect(keys.length).toBeGreaterThan(0);
    for (const { file, ref } of keys) expectWrittenOnce(file, ref);
  });

  function expectWrittenOnce(file: BicepFile, ref: Reference): void {
    const flag = /^!\s*(\w+)$/.exec(ref.condition ?? '')?.[1];
    expect({ key: ref.symbol, condition: ref.condition, guardedByFlag: flag !== undefined }).toEqual({ key: ref.symbol, condition: ref.condition, guardedByFlag: true });
    expect(file.code).toMatch(new RegExp(`^param ${flag} bool = false$`, 'm'));
    // main.bicep hands the module its own parameter, which azd fills from main.bicep's last output.
    const passed = moduleParams(main, moduleDeploying(file).symbol).get(flag!)?.value;
    expect(passed).toMatch(/^\w+$/);
    const { output } = carriedByAzd(passed!);
    expect(output).toBe('true');
    // An output may not read the key: it is not deployed when the flag is set.
    expect(file.code).not.toMatch(new RegExp(`^output .*\\b${ref.symbol}\\b`, 'm'));
  }

  it('keeps its rotation policy in the Bicep that creates it', () => {
    expect(keys.length).toBeGreaterThan(0);
    const [{ file, ref }] = keys;
    const properties = nested(file, objectEntries(file, ref.offset), 'properties');
    expect(nested(file, properties, 'rotationPolicy').get('lifetimeActions')?.value).toContain("type: 'rotate'");
  });
});

describe("the deployer's admin app role", () => {
  // Graph creates an app role assignment with a POST: the type has no client-side key, so a second
  // one for the same principal, role and resource is refused ("Permission being assigned already
  // exists on the object"), as msgraph-bicep-types#161 reports for redeployments.
  const assignments = [...resources('Microsoft.Graph/appRoleAssignedTo'), ...resources('Microsoft.Graph/oauth2PermissionGrants')];

  it('is the only Graph assignment, and it is conditional', () => {
    expect(assignments.map(({ ref }) => ({ symbol: ref.symbol, conditional: ref.condition !== undefined }))).toEqual([{ symbol: 'deployerIsAdmin', conditional: true }]);
  });

  it('is asked for only when no earlier deployment gave it to the same principal', () => {
    const [{ file, ref }] = assignments;
    const principal = objectEntries(file, ref.offset).get('principalId')?.value;
    expect(ref.condition).toBe(`!empty(${principal})`);
    // main.bicep passes the principal only when the azd-carried list of earlier admins lacks it.
    const passed = moduleParams(main, moduleDeploying(file).symbol).get(principal!)?.value ?? '';
    const needs = /^(\w+) \? principalId : ''$/.exec(passed)?.[1];
    expect({ passed, guarded: needs !== undefined }).toEqual({ passed, guarded: true });
    const before = /!contains\((\w+), principalId\)/.exec(varExpression(main, needs!))?.[1];
    expect(before).toBeDefined();
    const listParam = /\bsplit\((\w+), ','\)/.exec(varExpression(main, before!))?.[1];
    const { output } = carriedByAzd(listParam!);
    // What the deployment leaves: the earlier admins and this deployer.
    expect(output).toContain(before!);
    expect(output).toContain('principalId');
  });
});

describe('names and ids that a redeployment must find again', () => {
  it('uses no value that changes from one run to the next', () => {
    for (const file of files) expect({ file: file.path, perRun: /\b(newGuid|utcNow)\s*\(/.test(file.code) }).toEqual({ file: file.path, perRun: false });
  });

  it('names every role assignment with guid() of its scope, principal and role', () => {
    const found = resources('Microsoft.Authorization/roleAssignments');
    expect(found.length).toBeGreaterThan(0);
    for (const { file, ref } of found) {
      const body = objectEntries(file, ref.offset);
      expect({ symbol: ref.symbol, name: body.get('name')?.value }).toEqual({
        symbol: ref.symbol,
        name: `guid(${body.get('scope')?.value}.id, appPrincipalId, ${/, (\w+)\)$/.exec(nested(file, body, 'properties').get('roleDefinitionId')?.value ?? '')?.[1]})`,
      });
    }
  });

  it('finds the app registration by uniqueName and its service principal by appId, the Graph keys', () => {
    const entra = readBicep('app/entra.bicep');
    const [app] = resources('Microsoft.Graph/applications');
    const [sp] = resources('Microsoft.Graph/servicePrincipals');
    const appBody = objectEntries(entra, app.ref.offset);
    expect(appBody.get('uniqueName')?.value).toBe('uniqueName');
    expect(objectEntries(entra, sp.ref.offset).get('appId')?.value).toBe(`${app.ref.symbol}.appId`);
    // An identifier URI built from the app's own appId would need the app before it exists.
    expect(appBody.get('identifierUris')?.value).not.toContain(`${app.ref.symbol}.`);
  });

  it('keeps the ids of the app role and the scope when their values are renamed', () => {
    // Graph refuses to drop an enabled role or scope ("cannot be deleted or updated unless disabled
    // first"): an id that followed the role's value would make renaming it fail on redeployment.
    const entra = readBicep('app/entra.bicep');
    for (const name of ['adminRoleId', 'accessScopeId']) {
      const args = /^guid\((.*)\)$/.exec(varExpression(entra, name))?.[1] ?? '';
      const nonLiteral = args
        .split(',')
        .map((a) => a.trim())
        .filter((a) => !/^'[^']*'$/.test(a));
      expect({ name, nonLiteral }).toEqual({ name, nonLiteral: ['uniqueName'] });
    }
  });
});

describe('a CI pipeline', () => {
  it("gets every variable that main.parameters.json reads, besides azd's own (azure.yaml pipeline.variables)", () => {
    // Each CI run starts from a fresh azd environment: without them it would deploy other settings,
    // and write the KEK and the admin role again.
    const read = [...JSON.stringify(parametersFile).matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]).filter((v) => !v.startsWith('AZURE_'));
    const azureYaml = readFileSync(join(ROOT, 'azure.yaml'), 'utf8');
    const block = /^pipeline:\n {2}variables:\n((?: {4}- [A-Z0-9_]+\n?)+)/m.exec(azureYaml)?.[1] ?? '';
    const listed = [...block.matchAll(/- ([A-Z0-9_]+)/g)].map((m) => m[1]);
    expect(read).toEqual(expect.arrayContaining(['CREDMAN_KEK_EXISTS', 'CREDMAN_ADMIN_PRINCIPAL_IDS']));
    expect(listed.sort()).toEqual([...new Set(read)].sort());
  });
});
