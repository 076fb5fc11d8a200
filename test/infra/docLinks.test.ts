import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { ROOT } from './bicep';

// The documents' own links hold: every relative link in a tracked Markdown file names a file the
// repository has and, with a #fragment into a Markdown file, a heading that file has.

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1].replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

it('links only to files and headings the repository has', () => {
  const docs = execFileSync('git', ['ls-files', '*.md'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(docs.length).toBeGreaterThan(5);
  const broken: string[] = [];
  let checked = 0;
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const link = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto: …
      const [path, fragment] = link.split('#', 2);
      const target = path ? normalize(join(dirname(doc), decodeURIComponent(path))) : doc;
      checked++;
      if (!existsSync(join(ROOT, target))) {
        broken.push(`${doc}: ${link} (no ${target})`);
        continue;
      }
      if (fragment && target.endsWith('.md') && !anchorsOf(readFileSync(join(ROOT, target), 'utf8')).has(fragment)) {
        broken.push(`${doc}: ${link} (no heading #${fragment} in ${target})`);
      }
    }
  }
  expect(checked).toBeGreaterThan(20);
  expect(broken).toEqual([]);
});

it('test/README.md maps every test file', () => {
  const map = readFileSync(join(ROOT, 'test/README.md'), 'utf8');
  const linked = new Set([...map.matchAll(/\]\(([^)#\s]+\.test\.ts)\)/g)].map((m) => normalize(join('test', m[1]))));
  const tests = execFileSync('git', ['ls-files', 'test/**/*.test.ts', 'test/*.test.ts'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(tests.length).toBeGreaterThan(50);
  expect(tests.filter((t) => !linked.has(t))).toEqual([]);
});
