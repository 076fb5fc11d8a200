import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ignore from 'ignore';
import { ROOT } from './bicep';

// azd uploads the folder less .funcignore, and Flex Consumption's remote build runs `npm install`
// and `npm run build` on what arrived. A source file the build compiles (an import into client/,
// say) that .funcignore leaves behind breaks the deployment only in Azure: catch it here.

const funcignore = readFileSync(join(ROOT, '.funcignore'), 'utf8');
const ignored = ignore().add(funcignore);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };

/** Every file `npm run build` compiles (tsc -p tsconfig.json), relative to the repository. */
function compiledSources(): string[] {
  const out = execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--listFilesOnly'], { cwd: ROOT, encoding: 'utf8' });
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
  });

  it('keeps what the build and the host read, and leaves out what is local or built there', () => {
    for (const f of ['package.json', 'package-lock.json', 'host.json', 'tsconfig.json']) expect({ f, ignored: ignored.ignores(f) }).toEqual({ f, ignored: false });
    for (const f of ['node_modules/x/index.js', 'dist/functions/tokens.js', 'local.settings.json', 'test/api/x.test.ts', 'infra/main.bicep', '.credman/local-kek.json']) {
      expect({ f, ignored: ignored.ignores(f) }).toEqual({ f, ignored: true });
    }
  });

  it('builds with `npm run build` into the entry points package.json names', () => {
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.json');
    expect(pkg.main).toBe('dist/functions/*.js');
  });
});
