import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The other SDK tests load client/src; a user installs the built package. Build it as `npm run
// build` in client/ does, lay it out as the published files, and load it through its
// package.json (`exports`, `main`, `types`) from a plain CommonJS require, as a user's app would.

const ROOT = join(__dirname, '..', '..');
const CLIENT = join(ROOT, 'client');
const pkg = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8')) as {
  name: string;
  main: string;
  types: string;
  files: string[];
  exports: Record<string, { types: string; default: string } | string>;
};

let installed: string;

beforeAll(() => {
  const scratch = mkdtempSync(join(tmpdir(), 'credman-client-pkg-'));
  installed = join(scratch, 'node_modules', ...pkg.name.split('/'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(CLIENT, 'tsconfig.json'), '--outDir', join(installed, 'dist')], { cwd: CLIENT });
  cpSync(join(CLIENT, 'package.json'), join(installed, 'package.json'));
}, 60_000);

afterAll(() => rmSync(join(installed, '..', '..', '..'), { recursive: true, force: true }));

describe('the built @credman/client package', () => {
  it('names files that the build produces', () => {
    const root = pkg.exports['.'];
    expect(typeof root).toBe('object');
    for (const f of [pkg.main, pkg.types, (root as { types: string }).types, (root as { default: string }).default]) {
      expect({ f, exists: existsSync(join(installed, f)) }).toEqual({ f, exists: true });
    }
    expect(pkg.files).toContain('dist');
  });

  it('loads by its name through exports and gives a working client', async () => {
    const script = `
      const sdk = require(${JSON.stringify(pkg.name)});
      const names = Object.keys(sdk).sort();
      const client = new sdk.CredmanClient({ baseUrl: 'http://127.0.0.1:9', platformToken: async () => 't', retries: 0, timeoutMs: 2000 });
      client.getToken('bad id', 'c').catch((e) => {
        console.log(JSON.stringify({ names, code: e.code, isCredmanError: e instanceof sdk.CredmanError }));
      });`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: join(installed, '..', '..', '..'), encoding: 'utf8' });
    const r = JSON.parse(out) as { names: string[]; code: string; isCredmanError: boolean };
    expect(r.names).toEqual(
      expect.arrayContaining([
        'CredmanClient',
        'CredmanError',
        'CredmanAuthError',
        'CredmanConnectionError',
        'CredmanUnavailableError',
        'fromFile',
        'fromGitHubActions',
        'parseRetryAfter',
        'NO_EXPIRY_RECHECK_SECONDS',
      ]),
    );
    expect(r).toMatchObject({ code: 'InvalidIdentifier', isCredmanError: true });
  });
});
