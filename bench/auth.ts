import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer, devIssuerJwksUri } from '../local/devIssuer';
import { CallerAuthenticator } from '../shared/identity/authenticator';

// Caller authentication per request, with and without the verified-token cache, in one run
// (these machines are noisy: compare the ratio, not the absolute figures).

const CALLS = 20_000;
const WARMUP = 500;

async function medianMicros(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await op();
  const samples: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const start = process.hrtime.bigint();
    await op();
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'credman-bench-auth-'));
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(issuer.jwks())));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const issuerUrl = `http://localhost:${(server.address() as AddressInfo).port}/dev-issuer`;
  const issuer = await DevIssuer.loadOrCreate(dir, issuerUrl);
  const auth = {
    issuers: [{ issuer: issuerUrl, jwksUri: devIssuerJwksUri(issuerUrl), audiences: ['api://credman'], kind: 'entra' as const }],
    adminRole: 'Credman.Admin',
    connectRole: 'Credman.Connect',
    clockSkewSeconds: 60,
  };
  const header = `Bearer ${await issuer.mint({ admin: true })}`;
  try {
    const uncached = new CallerAuthenticator(auth, { cacheMaxEntries: 0 });
    const cached = new CallerAuthenticator(auth);
    const without = await medianMicros(() => uncached.authenticate(header));
    const withCache = await medianMicros(() => cached.authenticate(header));
    console.log(`Caller authentication, RS256 token from a JWKS on loopback, median of ${CALLS} calls, Node ${process.version}`);
    console.log('mode                             µs/call   calls/s (one core)  signature checks');
    console.log(
      `verify every request          ${without.toFixed(1).padStart(10)}  ${Math.round(1e6 / without)
        .toString()
        .padStart(18)}  ${uncached.stats.signatureChecks}`,
    );
    console.log(
      `verified-token cache          ${withCache.toFixed(1).padStart(10)}  ${Math.round(1e6 / withCache)
        .toString()
        .padStart(18)}  ${cached.stats.signatureChecks}`,
    );
    console.log(`ratio (verify / cached)       ${(without / withCache).toFixed(1).padStart(10)}x`);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
