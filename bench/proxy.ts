import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { DEV_APP_OBJECT_ID } from '../local/devIssuer';
import { runBench, spawnChild } from './children';
import { summariseProfile, topFunctions, type CpuProfile } from './profile';
import { startTokenWorld, TOKEN_PATH } from './tokenWorld';

// The token proxy (issue 19) in one run: the same upstream API called directly with the token
// and through credman's proxy (autocannon, 10 connections, a small JSON answer), then a 200 MB
// download through the proxy while the host's resident memory is sampled: it must stay flat, not
// grow with the body. These machines are noisy: the ratios are the figures that mean something.
//   npm run bench:proxy [-- --duration 10 --mb 200 --profile]

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => Number(args[args.indexOf(name) + 1] ?? fallback) || fallback;
const DURATION = arg('--duration', 10);
const MB = arg('--mb', 200);
const PROFILE = args.includes('--profile');

async function load(url: string, headers: Record<string, string>, duration: number) {
  const r = await autocannon({ url, headers, connections: 10, duration });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total };
}

/** CPU time a process has used (Linux: utime + stime), in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

/** Resident memory of a process (Linux), in MB. */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

runBench('proxy', async (work, children) => {
  const world = await startTokenWorld(work, children);
  const api = await spawnChild([join(__dirname, 'apiServer.js')], {}, /"port":(\d+)/);
  children.push(api);
  const profileDir = join(work, 'profile');
  const host = await world.host('proxy', {}, PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  await world.createConnection(host, { apiBaseUrl: `http://127.0.0.1:${api.port}/v1` });
  // The app's own identity holds a policy on every connection it creates: the bench calls as it.
  const caller = { authorization: `Bearer ${await host.issuer.mint({ oid: DEV_APP_OBJECT_ID, ttlSeconds: 3600 })}` };
  const token = (await (await fetch(`${host.api}${TOKEN_PATH}`, { method: 'POST', headers: caller })).json()) as { accessToken: string };
  const direct = { url: `http://127.0.0.1:${api.port}/v1/item`, headers: { authorization: `Bearer ${token.accessToken}` } };
  const proxied = { url: `${host.api}/proxy/bench/load/item`, headers: caller };

  // Warm both paths (JIT, caches, kept-alive upstream sockets), then measure each in turn.
  await load(direct.url, direct.headers, 2);
  await load(proxied.url, proxied.headers, 2);
  const directRun = await load(direct.url, direct.headers, DURATION);
  const hostPid = host.process.pid ?? 0;
  const cpuBefore = cpuMs(hostPid);
  const proxiedRun = await load(proxied.url, proxied.headers, DURATION);
  const hostCpuPerRequest = (cpuMs(hostPid) - cpuBefore) / proxiedRun.total;

  // The download: read as fast as it comes, the host's RSS sampled every 20 ms.
  const pid = host.process.pid ?? 0;
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  const started = Date.now();
  const res = await fetch(`${host.api}/proxy/bench/load/bytes?n=${MB * 1024 * 1024}`, { headers: caller });
  let bytes = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) bytes += c.byteLength;
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(pid));
  if (res.status !== 200 || bytes !== MB * 1024 * 1024) throw new Error(`download: HTTP ${res.status}, ${bytes} bytes`);

  const row = (name: string, r: { rps: number; p50: number; p99: number }) =>
    `${name.padEnd(30)}${Math.round(r.rps).toString().padStart(9)}${r.p50.toFixed(1).padStart(9)}${r.p99.toFixed(1).padStart(9)}`;
  console.log(`Token proxy, autocannon: 10 connections, ${DURATION} s per path, GET of a small JSON answer; Node ${process.version}`);
  console.log(`${'path'.padEnd(30)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
  console.log(row('upstream direct, with token', directRun));
  console.log(row('through credman proxy', proxiedRun));
  console.log(
    `proxied / direct: ${((proxiedRun.rps / directRun.rps) * 100).toFixed(1)} % of the throughput, p50 +${(proxiedRun.p50 - directRun.p50).toFixed(1)} ms; host CPU ${(hostCpuPerRequest * 1000).toFixed(0)} µs per proxied request`,
  );
  console.log(
    `download of ${MB} MB through the proxy: ${(MB / seconds).toFixed(0)} MB/s; host RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB (+${(peak - before).toFixed(0)} MB, ${(((peak - before) / MB) * 100).toFixed(1)} % of the body)`,
  );
  if (PROFILE) {
    await host.stop();
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile;
      console.log('\nWhere the host spends its time (self time, top entries):');
      for (const line of summariseProfile(profile)) console.log(`  ${line}`);
      console.log('Top functions (self time):');
      for (const line of topFunctions(profile)) console.log(`  ${line}`);
    }
  }
});
