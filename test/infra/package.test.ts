import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ignore from 'ignore';
import { ROOT } from './bicep';

// azd uploads the folder less .funcignore, and Flex Consumption's remote build runs `npm install`
// and `npm run build` (tsc -p tsconfig.build.json: functions/ and shared/) on what arrived. A source
// file the build compiles (an import into local/, say) that .funcignore leaves behind breaks the
// deployment only in Azure: catch it here. productionLoad.test.ts builds and loads that package.

const funcignore = readFileSync(join(ROOT, '.funcignore'), 'utf8');
const ignored = ignore().add(funcignore);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };

/** Every file `npm run build` compiles (tsc -p tsconfig.build.json), relative to the repository. */
function compiledSources(): string[] {
  const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--listFilesOnly'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\n')
    .filter((f) => f.trim() !== '')
    .map((f) => relative(ROOT, f.trim()))
    .filter((f) => !f.startsWith('node_modules/') && !f.startsWith('..'));
}

describe('the package azd deploys', () => {
  it('keeps every source file the remote build compiles', () => {
    const sources = compiledSources();
    expect(sources.filter((f) => f.startsWith('functions/')).length).toBeGreaterThan(5);
    expect(sources.filter((f) => ignored.ignores(f))).toEqual([]);
    // Only the app: the local host, benches, tests and the client are not built for Azure.
    expect(sources.filter((f) => !/^(functions|shared)\//.test(f))).toEqual([]);
  });

  it('keeps what the build and the host read, and leaves out what is local or built there', () => {
    for (const f of ['package.json', 'package-lock.json', 'host.json', 'tsconfig.json', 'tsconfig.build.json', 'shared/crypto/localKeyWrapper.ts']) {
      expect({ f, ignored: ignored.ignores(f) }).toEqual({ f, ignored: false });
    }
    for (const f of [
      'node_modules/x/index.js',
      'dist/functions/tokens.js',
      'local.settings.json',
      'test/api/x.test.ts',
      'infra/main.bicep',
      '.credman/local-kek.json',
      'local/start.ts',
      'bench/token.ts',
      'client/src/index.ts',
      'samples/durable-github/package.json',
    ]) {
      expect({ f, ignored: ignored.ignores(f) }).toEqual({ f, ignored: true });
    }
  });

  it('builds with `npm run build` into the entry points package.json names', () => {
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.build.json');
    expect(pkg.main).toBe('dist/functions/*.js');
    // Oryx runs `npm run build:azure` after `npm run build` when the script exists: keep that name free.
    expect(pkg.scripts['build:azure']).toBeUndefined();
  });
});
