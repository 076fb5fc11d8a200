import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_APP_OBJECT_ID, DevIssuer } from '../local/devIssuer';
import { freePort } from '../local/freePort';
import { devIssuerUrl } from '../local/hostSettings';
import { runBench } from './children';
import { startTokenWorld, TOKEN_PATH } from './tokenWorld';

// A cold start of this tree against one of an earlier commit, in one run (the machines are noisy:
// the ratio is the figure that means something). The baseline is extracted from git into a
// scratch folder (git archive), with this tree's node_modules linked in, and built there; the runs
// alternate between the two builds.
//   npm run bench:coldstart [-- --baseline <git ref> --runs 7]

const ROOT = join(__dirname, '..', '..');
const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
/** The commit before the cold-start work (build of functions/ and shared/ alone, lazy modules, tables created on first use). */
const BASELINE = arg('baseline', '57c13a0');
const RUNS = Number(arg('runs', '7')) || 7;

const DEFINITION = [
  'First served token: from spawning `node dist/local/start.js` (a fresh process) to the 200 answer of',
  'the first POST .../token, sent as soon as the host prints that it listens. Storage ready: an',
  'Azurite (its own process) already holds the tables, the provider and the connection, whose row',
  'has a valid access token (no identity-provider call). KEK warm: the local key file exists. The',
  "caller's token (the app's own identity) is minted before the spawn; verifying it fetches the dev",
  "issuer's JWKS from the host, as a cold instance fetches Entra's. Orchestrations and timers off.",
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The baseline's source from git, this tree's node_modules, built with its own full tsconfig. */
function buildBaseline(dir: string, ref: string): string {
  mkdirSync(dir, { recursive: true });
  const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
  execFileSync('sh', ['-c', `git -C "${ROOT}" archive "${commit}" | tar -x -C "${dir}"`]);
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'inherit' });
  return commit;
}

/** Module loading alone: every dist/functions/*.js of `app`, in a fresh process. */
function loadFunctions(app: string): { ms: number; modules: number; functions: number } {
  const out = execFileSync(process.execPath, [join(__dirname, 'loadFunctions.js'), app], { encoding: 'utf8' });
  return JSON.parse(out.trim()) as { ms: number; modules: number; functions: number };
}

runBench('coldstart', async (work, children) => {
  const baselineDir = join(work, 'baseline');
  const commit = buildBaseline(baselineDir, BASELINE);
  const builds = [
    { name: `baseline ${commit}`, root: baselineDir },
    { name: 'this tree', root: ROOT },
  ];

  const world = await startTokenWorld(work, children);
  // A first host makes the tables, the KEK file, the provider and the connection (and its token).
  const seed = await world.host('seed');
  await world.createConnection(seed);
  await seed.stop();

  const results = builds.map(() => ({ loadMs: [] as number[], modules: 0, functions: 0, listening: [] as number[], token: [] as number[] }));
  for (let run = 0; run < RUNS; run++) {
    for (const [i, build] of builds.entries()) {
      const load = loadFunctions(build.root);
      results[i].loadMs.push(load.ms);
      results[i].modules = load.modules;
      results[i].functions = load.functions;

      const name = `run-${run}-${i}`;
      const port = await freePort();
      const issuer = await DevIssuer.loadOrCreate(join(work, name), devIssuerUrl(port));
      const authorization = `Bearer ${await issuer.mint({ oid: DEV_APP_OBJECT_ID, ttlSeconds: 3600 })}`;
      const started = performance.now();
      const host = await world.host(name, { CREDMAN_LOCAL_PORT: String(port) }, [], build.root);
      const listening = performance.now();
      const r = await fetch(`${host.api}${TOKEN_PATH}`, { method: 'POST', headers: { authorization } });
      const body = await r.text();
      const served = performance.now();
      if (r.status !== 200) throw new Error(`${build.name}: first token ${r.status} ${body}\n${host.output}`);
      results[i].listening.push(listening - started);
      results[i].token.push(served - started);
      await host.stop();
      children.splice(children.indexOf(host), 1);
    }
  }

  const cell = (v: number | string) => String(v).padStart(14);
  const row = (label: string, values: number[], digits = 0) => `${label.padEnd(34)}${values.map((v) => cell(v.toFixed(digits))).join('')}${cell(`${(values[1] / values[0]).toFixed(2)}x`)}`;
  const m = (f: (r: (typeof results)[number]) => number[]) => results.map((r) => median(f(r)));
  console.log(`Cold start, ${RUNS} runs of each build (alternating), medians; Node ${process.version}, ${commit} = ${BASELINE}`);
  console.log(`${''.padEnd(34)}${builds.map((b) => cell(b.name)).join('')}${cell('this/baseline')}`);
  console.log('Loading every dist/functions/*.js (@azure/functions-core provided, a fresh process):');
  console.log(
    row(
      '  time ms',
      m((r) => r.loadMs),
    ),
  );
  console.log(
    row(
      '  modules loaded',
      results.map((r) => r.modules),
    ),
  );
  console.log(
    row(
      '  functions registered',
      results.map((r) => r.functions),
    ),
  );
  console.log('Local host start to first served token:');
  console.log(
    row(
      '  spawn to "listening" ms',
      m((r) => r.listening),
    ),
  );
  console.log(
    row(
      '  spawn to first token ms',
      m((r) => r.token),
    ),
  );
  console.log(`  each run (ms): ${builds.map((b, i) => `${b.name}: ${results[i].token.map((t) => t.toFixed(0)).join(' ')}`).join('; ')}`);
  console.log('');
  for (const line of DEFINITION) console.log(line);
});
