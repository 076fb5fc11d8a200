import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ignore from 'ignore';
import { ROOT } from './bicep';

// What runs in Azure, built the way it is built there but with the production dependencies alone:
// the folder azd uploads (less .funcignore) copied to a scratch directory, `npm ci --omit=dev`
// there (from the npm cache), `tsc -p tsconfig.build.json` with the repository's TypeScript, then
// every dist/functions/*.js loaded in a child process with @azure/functions-core provided the way
// the Functions worker provides it (the local host's coreApi, from the repository's dist/). An app
// file that imports a devDependency fails the build or the load; one that requires a devDependency
// lazily (inside a function) fails the scan of every require() in dist/.

const ignored = ignore().add(readFileSync(join(ROOT, '.funcignore'), 'utf8'));

/** Copies the folder as azd packages it: every file .funcignore does not exclude. */
function copyPackage(from: string, to: string, rel = ''): number {
  let files = 0;
  for (const entry of readdirSync(join(from, rel), { withFileTypes: true })) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (ignored.ignores(`${path}/`)) continue;
      mkdirSync(join(to, path), { recursive: true });
      files += copyPackage(from, to, path);
    } else if (!ignored.ignores(path)) {
      copyFileSync(join(from, path), join(to, path));
      files++;
    }
  }
  return files;
}

// Runs in the child: provides @azure/functions-core (argv[1]: the repository's dist/local/host/coreApi.js),
// loads every dist/functions/*.js of the app at argv[2], lists what registered, and resolves every
// module name that a require() in the app's dist/ names, from the file that names it.
const LOADER = `
const { installCoreApi } = require(process.argv[1]);
const { readdirSync, readFileSync } = require('node:fs');
const { builtinModules } = require('node:module');
const { dirname, join } = require('node:path');
const app = process.argv[2];
const core = installCoreApi('4.0.0-credman-test');
const dir = join(app, 'dist/functions');
for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort()) require(join(dir, f));
const unresolved = [];
const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) {
  const p = join(d, e.name);
  if (e.isDirectory()) walk(p);
  else if (p.endsWith('.js')) for (const m of readFileSync(p, 'utf8').matchAll(/\\brequire\\((['"])([^'"]+)\\1\\)/g)) {
    const id = m[2];
    if (id.startsWith('.') || id.startsWith('node:') || builtinModules.includes(id) || id === '@azure/functions-core') continue;
    try { require.resolve(id, { paths: [dirname(p)] }); } catch { unresolved.push(p.slice(app.length + 1) + ': ' + id); }
  }
} };
const loaded = Object.keys(require.cache);
walk(join(app, 'dist'));
console.log(JSON.stringify({ functions: core.registrations.map((r) => r.metadata.name).sort(), unresolved, loaded }));
`;

interface Loaded {
  functions: string[];
  unresolved: string[];
  /** Every module in require.cache once the functions are loaded. */
  loaded: string[];
}

function loadFunctions(app: string): Loaded {
  const out = execFileSync(process.execPath, ['-e', LOADER, join(ROOT, 'dist/local/host/coreApi.js'), app], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return JSON.parse(out.trim().split('\n').pop() as string) as Loaded;
}

let work: string;
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

it('builds and loads every function with the production dependencies alone', () => {
  work = mkdtempSync(join(tmpdir(), 'credman-package-'));
  const app = join(work, 'app');
  mkdirSync(app);
  const files = copyPackage(ROOT, app);
  expect(files).toBeGreaterThan(20);

  // npm's own variables (npm test sets them) must not change what this install does.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const run = (file: string, args: string[]) => {
    const options: ExecFileSyncOptions = { cwd: app, env, encoding: 'utf8', stdio: 'pipe' };
    const started = Date.now();
    try {
      execFileSync(file, args, options);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`${[file, ...args].join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
    }
    return Date.now() - started;
  };
  const installMs = run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline']);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  // A devDependency a production package also needs (ajv, for the MCP SDK) is there by right: the lock says which are dev only.
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.keys(pkg.devDependencies).filter((dev) => lock.packages[`node_modules/${dev}`]?.dev === true);
  expect(devOnly.length).toBeGreaterThan(10);
  expect(devOnly.filter((dev) => existsSync(join(app, 'node_modules', dev)))).toEqual([]);

  // The repository's TypeScript; @types/node (a devDependency) from the repository too.
  const buildMs = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--typeRoots', join(ROOT, 'node_modules/@types')]);

  const loaded = loadFunctions(app);
  expect(loaded.unresolved).toEqual([]);
  // The same functions register as from the repository's own build, with every devDependency at hand.
  expect(loaded.functions).toEqual(loadFunctions(ROOT).functions);
  expect(loaded.functions.length).toBeGreaterThan(20);
  // A cold start loads what serving a token needs, not what only some functions or deployments use.
  const deferred = [
    '/node_modules/durable-functions/lib/src/index.js',
    '/node_modules/@azure/identity/',
    '/node_modules/@azure/keyvault-keys/',
    '/node_modules/axios/',
    '/dist/shared/api/openapi.js',
    '/dist/shared/oauth/catalogue/templates.js',
  ];
  expect(deferred.filter((d) => loaded.loaded.some((f) => f.includes(d)))).toEqual([]);
  expect(loaded.loaded.length).toBeLessThan(500);
  console.log(`production package: ${files} files, npm ci --omit=dev ${installMs} ms, build ${buildMs} ms`);
}, 120_000);
