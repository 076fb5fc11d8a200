import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { installCoreApi } from '../local/host/coreApi';

// `node dist/bench/loadFunctions.js <app root>`: what a cold worker does before anything else,
// alone in a fresh process. @azure/functions-core is provided as the worker provides it, every
// <app root>/dist/functions/*.js is required in order, and it prints one JSON line: the time that
// took, the modules it loaded (require.cache entries: .js and .json) and the functions registered.

const app = resolve(process.argv[2] ?? join(__dirname, '..', '..'));
const core = installCoreApi('4.0.0-credman-bench');
const dir = join(app, 'dist/functions');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .sort();
const before = Object.keys(require.cache).length;
const started = process.hrtime.bigint();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loads each compiled function file in turn, as the worker does, to time it
for (const f of files) require(join(dir, f));
const ms = Number(process.hrtime.bigint() - started) / 1e6;
console.log(JSON.stringify({ ms, modules: Object.keys(require.cache).length - before, functions: core.registrations.length }));
