import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { DEV_APP_OBJECT_ID } from '../local/devIssuer';
import { runBench, spawnChild } from './children';
import { startTokenWorld, TOKEN_PATH } from './tokenWorld';
import { summariseProfile, topFunctions, type CpuProfile } from './profile';

// The token endpoint under load (autocannon, 10 connections, one connection's token, real JWT
// validation), against the machine's ceiling (a bare Node server in its own process) and against
// the path that reads storage and decrypts on every request (CREDMAN_TOKEN_CACHE=false), all in
// one run: these machines are noisy, so the ratios are the figures that mean something.
//   npm run bench:token [-- --duration 10 --profile]

const args = process.argv.slice(2);
const DURATION = Number(args[args.indexOf('--duration') + 1] ?? 10) || 10;
const PROFILE = args.includes('--profile');

async function load(url: string, headers: Record<string, string>, duration: number) {
  const r = await autocannon({ url, method: 'POST', headers, connections: 10, duration });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total };
}

const stats = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/admin/stats`)).json()) as Record<string, number>;

runBench('token', async (work, children) => {
  const world = await startTokenWorld(work, children);
  const bare = await spawnChild([join(__dirname, 'bareServer.js')], {}, /"port":(\d+)/);
  children.push(bare);
  const profileDir = join(work, 'profile');
  const cached = await world.host('cached', {}, PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  const uncached = await world.host('uncached', { CREDMAN_TOKEN_CACHE: 'false' });

  // One client-credentials connection, created through the first host; both hosts serve it.
  await world.createConnection(cached);

  const path = TOKEN_PATH;
  const headersFor = async (h: typeof cached) => ({ authorization: `Bearer ${await h.issuer.mint({ oid: DEV_APP_OBJECT_ID, ttlSeconds: 3600 })}` });
  const cachedHeaders = await headersFor(cached);
  const uncachedHeaders = await headersFor(uncached);

  // Warm every path (JIT, caches, keep-alive), then measure each in turn.
  await load(`http://127.0.0.1:${bare.port}/`, {}, 2);
  await load(`${cached.api}${path}`, cachedHeaders, 2);
  await load(`${uncached.api}${path}`, uncachedHeaders, 2);

  const bareRun = await load(`http://127.0.0.1:${bare.port}/`, {}, DURATION);
  const beforeStats = await stats(cached.port);
  const beforeTable = await world.tableCounts();
  const cachedRun = await load(`${cached.api}${path}`, cachedHeaders, DURATION);
  const afterStats = await stats(cached.port);
  const afterTable = await world.tableCounts();
  const tableDuringCached = afterTable.get - beforeTable.get + afterTable.other - beforeTable.other;
  const uStatsBefore = await stats(uncached.port);
  const uncachedRun = await load(`${uncached.api}${path}`, uncachedHeaders, DURATION);
  const uStatsAfter = await stats(uncached.port);
  const tableDuringUncached = (await world.tableCounts()).get - afterTable.get;

  const per1000 = (n: number, total: number) => ((n / total) * 1000).toFixed(2);
  const row = (name: string, r: { rps: number; p50: number; p99: number }) =>
    `${name.padEnd(34)}${Math.round(r.rps).toString().padStart(9)}${r.p50.toFixed(1).padStart(9)}${r.p99.toFixed(1).padStart(9)}`;
  console.log(`Token endpoint, autocannon: 10 connections, ${DURATION} s per path, one connection's token, RS256 caller JWT; Node ${process.version}`);
  console.log(`${'path'.padEnd(34)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
  console.log(row('bare Node http (ceiling)', bareRun));
  console.log(row('credman, warm cache', cachedRun));
  console.log(row('credman, cache off (store+decrypt)', uncachedRun));
  console.log(`cached / bare:       ${((cachedRun.rps / bareRun.rps) * 100).toFixed(1)} %`);
  console.log(`cached / cache off:  ${(cachedRun.rps / uncachedRun.rps).toFixed(1)}x`);
  console.log(
    `per 1,000 warm requests: KEK unwraps (Key Vault calls in Azure) ${per1000(afterStats.kekUnwraps - beforeStats.kekUnwraps, cachedRun.total)}, ` +
      `Table requests ${per1000(tableDuringCached, cachedRun.total)}, identity-provider calls ${per1000(afterStats.identityProviderCalls - beforeStats.identityProviderCalls, cachedRun.total)}`,
  );
  console.log(
    `per 1,000 cache-off requests: Table reads ${per1000(tableDuringUncached, uncachedRun.total)}, KEK unwraps ${per1000(uStatsAfter.kekUnwraps - uStatsBefore.kekUnwraps, uncachedRun.total)} (the DEK cache stays on)`,
  );

  if (PROFILE) {
    await cached.stop();
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      console.log('\nWhere the cached host spends its time (self time, top entries):');
      const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
      for (const line of summariseProfile(profile)) console.log(`  ${line}`);
      console.log('Top functions (self time):');
      for (const line of topFunctions(profile)) console.log(`  ${line}`);
    }
  }
});
