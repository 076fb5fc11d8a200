import { CredmanClient } from '../client/src';
import { DEV_APP_OBJECT_ID } from '../local/devIssuer';
import { runBench } from './children';
import { startTokenWorld, TOKEN_PATH } from './tokenWorld';

// What the client SDK saves a workload, in one run (ratios are what mean something on a noisy
// machine): a token from the SDK's cache against one HTTP round trip to credman's own warm cache,
// and how many requests a burst of callers on a cold client makes.
//   npm run bench:client [-- --calls 200000 --http 3000 --burst 1000]

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) || def : def;
};
const CALLS = arg('calls', 200_000);
const HTTP_CALLS = arg('http', 3_000);
const BURST = arg('burst', 1_000);

function percentiles(ns: bigint[]): { p50: number; p99: number } {
  const sorted = ns.map(Number).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

/** Sequential calls of `fn`, timing each: calls per second and per-call µs. */
async function timed(n: number, fn: () => Promise<unknown>) {
  const each = new Array<bigint>(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    each[i] = process.hrtime.bigint() - t;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: n / seconds, ...percentiles(each) };
}

runBench('client', async (work, children) => {
  const world = await startTokenWorld(work, children);
  const host = await world.host('host');
  await world.createConnection(host);
  const { issuer } = host;
  const baseUrl = `http://localhost:${host.port}`;

  // The app's own identity, as a workload's managed identity would be: a credential the SDK asks once.
  const callerToken = await issuer.mint({ oid: DEV_APP_OBJECT_ID, ttlSeconds: 3600 });
  let credentialCalls = 0;
  const credential = { getToken: async () => (credentialCalls++, { token: callerToken, expiresOnTimestamp: Date.now() + 3_600_000 }) };
  let requests = 0;
  const counted: typeof fetch = (input, init) => (requests++, fetch(input, init));
  const newClient = () => new CredmanClient({ baseUrl, credential, fetch: counted });

  // A burst of callers on a cold client: one request, however many ask.
  const cold = newClient();
  const burstStart = process.hrtime.bigint();
  const burst = await Promise.all(Array.from({ length: BURST }, () => cold.getToken('bench', 'load')));
  const burstMs = Number(process.hrtime.bigint() - burstStart) / 1e6;
  const burstRequests = requests;
  const distinct = new Set(burst.map((t) => t.accessToken)).size;

  // Warm both paths (JIT, keep-alive), then measure each in turn.
  const url = `${host.api}${TOKEN_PATH}`;
  const http = () =>
    fetch(url, { method: 'POST', headers: { authorization: `Bearer ${callerToken}` } }).then(async (r) => {
      if (r.status !== 200) throw new Error(`token: ${r.status}`);
      return r.json() as Promise<unknown>;
    });
  await timed(500, http);
  await timed(10_000, () => cold.getToken('bench', 'load'));

  const requestsBefore = requests;
  const sdk = await timed(CALLS, () => cold.getToken('bench', 'load'));
  const sdkRequests = requests - requestsBefore;
  const roundTrip = await timed(HTTP_CALLS, http);

  console.log(`Client SDK against the local host (credman's own cache warm), Node ${process.version}`);
  console.log(
    `burst: ${BURST} concurrent getToken on a cold client -> ${burstRequests} HTTP request(s), ${distinct} distinct token(s), all answered in ${burstMs.toFixed(0)} ms; credential asked ${credentialCalls} time(s)`,
  );
  const row = (name: string, r: { perSecond: number; p50: number; p99: number }) =>
    `${name.padEnd(40)}${Math.round(r.perSecond).toString().padStart(11)}${r.p50.toFixed(1).padStart(10)}${r.p99.toFixed(1).padStart(10)}`;
  console.log(`${'sequential calls'.padEnd(40)}${'calls/s'.padStart(11)}${'p50 µs'.padStart(10)}${'p99 µs'.padStart(10)}`);
  console.log(row(`SDK getToken, cached (${CALLS})`, sdk));
  console.log(row(`HTTP POST .../token each time (${HTTP_CALLS})`, roundTrip));
  console.log(`SDK cached / HTTP round trip: ${(sdk.perSecond / roundTrip.perSecond).toFixed(0)}x; HTTP requests during the ${CALLS} cached calls: ${sdkRequests}`);
});
