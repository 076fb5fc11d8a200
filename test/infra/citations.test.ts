import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './bicep';

// The repository carries its own truth: a source file that names a document (`docs/oauth.md`,
// `README.md`) names one the repository has, next to it or from the root.

const SOURCE = /\.(ts|js|mjs|bicep|json|sh)$|^\.ci\/run$/;

it('cites only documents the repository has', () => {
  const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => SOURCE.test(f) && !f.endsWith('package-lock.json'));
  expect(files.length).toBeGreaterThan(100);
  const missing: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/(?<![\w/.-])([\w./-]*[A-Za-z0-9_-]+\.md)\b/g)) {
      const cited = m[1];
      if (/^https?:/.test(cited)) continue;
      if (![join(ROOT, cited), join(ROOT, dirname(file), cited)].some(existsSync)) missing.push(`${file}: ${cited}`);
    }
  }
  expect(missing).toEqual([]);
});
