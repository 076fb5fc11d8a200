import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { odata, TableClient } from '@azure/data-tables';
import type { InvocationContext } from '@azure/functions';
import type * as DF from 'durable-functions';
import { startAzurite, type EmbeddedAzurite } from '../local/azurite';
import type { DurableClock } from '../local/durable/clock';
import { fakeAzureEnvironment } from '../local/fakes/azureEnvironment';
import { FakeKeyVault } from '../local/fakes/keyVault';
import { installCoreApi } from '../local/host/coreApi';
import { DekCache } from '../shared/crypto/dekCache';
import { EnvelopeCipher } from '../shared/crypto/envelope';
import { KeyVaultKeyWrapper } from '../shared/crypto/keyVaultKeyWrapper';
import { rewrapPage } from '../shared/crypto/rewrapper';
import type { LifecycleNotice } from '../functions/workflows/lifecycle/names';
import type { SecretTable } from '../functions/workflows/keyRotation/names';
import { LifecycleService } from '../shared/lifecycle/lifecycleService';
import type { ConnectionPut, ProviderPut } from '../shared/model/schemas';
import { createServices } from '../shared/services';
import { loadSettings } from '../shared/settings';
import { createTables } from '../shared/store/tables';

// Lifecycles, key rotation and cascade deletion at scale: the app's services (Key Vault KEK, the
// fake vault) and the local durable driver running the app's real orchestrators
// (connectionLifecycle, rotateKeys, providerCascade, publishNotice) with activities bound to those
// services, all in this process; embedded Azurite in a child process of its own (as a storage
// service is; --azurite-in-process puts it here). N authorization-code connections under one
// provider, each Connected with a stored token (1 h access token + refresh token):
//   1. schedule: start N lifecycles through the library's DurableClient; time until every one
//      sleeps on its durable timer (token due in ~55 min), and this process's memory growth;
//   2. rewrap: a new KEK version in the vault, then the rotateKeys orchestration over every row;
//      Key Vault calls counted at the fake; a sample of tokens read back through the token store;
//   3. cascade: the provider deleted by the providerCascade orchestration (connections, their
//      policies, their lifecycles); rows left for the provider, which must be 0.
// The exit code is 1 if any check fails. Azurite answers a partition query by scanning the whole
// table, so the cascade (which purges instance histories) slows as the durable tables grow: on 2
// cores, 10,000 connections take ~16 min in all, 2,000 under 2 min.
//   npm run bench:lifecycle [-- --connections 10000 --concurrency 16 --azurite-in-process]

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
const N = arg('--connections', 10_000);
const CONCURRENCY = arg('--concurrency', 16);
/** Azurite in this process (one core for everything) instead of its own child process. */
const AZURITE_IN_PROCESS = args.includes('--azurite-in-process');
const PROVIDER = 'bench';
const PREFIX = 'credman';

// A full GC before each memory reading (no --expose-gc needed on the npm script's command line).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const memory = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
};
const MB = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const deltaMB = (bytes: number) => `${bytes < 0 ? '' : '+'}${MB(bytes)}`;
const secs = (ms: number) => (ms / 1000).toFixed(1);
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
/** Starts a stopwatch for wall time and this process's CPU time; each call of the result reads both. */
function startPhase() {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const ms = performance.now() - wall;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;
    return {
      ms,
      text: (n: number, what: string) =>
        `${secs(ms)} s = ${rate(n, ms)} ${what}/s (this process: ${secs(cpuMs)} s CPU, ${Math.round((cpuMs / ms) * 100)} % of a core, ${(cpuMs / Math.max(1, n)).toFixed(1)} ms CPU per ${what.replace(/s$/, '')})`,
    };
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over `items`, `concurrency` at a time. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** The system clock, counting the durable timers armed and not yet fired or cancelled. */
class CountingClock implements DurableClock {
  armed = 0;
  now(): number {
    return Date.now();
  }
  schedule(at: number, fire: () => void): () => void {
    this.armed++;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        this.armed--;
      }
    };
    const handle = setTimeout(
      () => {
        finish();
        fire();
      },
      Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)),
    );
    handle.unref();
    return () => {
      clearTimeout(handle);
      finish();
    };
  }
}

/** Embedded Azurite (local/azurite.ts) in a child process, as a storage service is: the app gets this process's core to itself. */
function azuriteChild(): Promise<EmbeddedAzurite> {
  const script = `require(${JSON.stringify(join(__dirname, '..', 'local', 'azurite.js'))}).startAzurite().then((a) => console.log(JSON.stringify({ connectionString: a.connectionString })))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      const { connectionString } = JSON.parse(line) as { connectionString: string };
      resolve({
        connectionString,
        stop: () =>
          new Promise<void>((ok) => {
            child.once('exit', () => ok());
            child.kill('SIGKILL');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${out}`)));
  });
}

async function count(table: TableClient, filter?: string): Promise<number> {
  let n = 0;
  for await (const page of table.listEntities({ queryOptions: { ...(filter ? { filter } : {}), select: ['RowKey'] } }).byPage({ maxPageSize: 1000 })) n += page.length;
  return n;
}

const partitionRange = (prefix: string) => odata`PartitionKey ge ${prefix} and PartitionKey lt ${prefix + '\uffff'}`;

async function main(): Promise<void> {
  const began = performance.now();
  // The worker's @azure/functions-core first, then the libraries that register through it.
  const core = installCoreApi('4.0.0-credman-bench');
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded after the shim is in place */
  const df = require('durable-functions') as typeof DF;
  const { InvocationContext: Context } = require('@azure/functions') as typeof import('@azure/functions');
  const { DurableDriver } = require('../local/durable/driver') as typeof import('../local/durable/driver');
  const { connectionLifecycle, publishNotice } = require('../functions/workflows/lifecycle/orchestrator') as typeof import('../functions/workflows/lifecycle/orchestrator');
  const { deleteProviderCascade } = require('../functions/workflows/cascade/orchestrator') as typeof import('../functions/workflows/cascade/orchestrator');
  const { rotateKeys } = require('../functions/workflows/keyRotation/orchestrator') as typeof import('../functions/workflows/keyRotation/orchestrator');
  const { endLifecycles } = require('../functions/workflows/lifecycle/client') as typeof import('../functions/workflows/lifecycle/client');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const azurite = AZURITE_IN_PROCESS ? await startAzurite() : await azuriteChild();
  const vault = await FakeKeyVault.start();
  const env = fakeAzureEnvironment(azurite.connectionString, vault.keyId(), { CREDMAN_TABLE_PREFIX: PREFIX });
  const settings = loadSettings(env);
  const problems: string[] = [];
  const log = (level: string, message: string) => {
    if (level === 'error' || level === 'warn' || level === 'warning') problems.push(`${level}: ${message}`);
  };
  const services = await createServices(settings, { credential: vault.credential, keyVaultClientOptions: vault.clientOptions, log });
  const tables = createTables(settings.storage, () => vault.credential);

  // Key rotation's cipher: set in step 2 (see there for why it is not the services' own).
  let rotationCipher: EnvelopeCipher | undefined;

  // The app's orchestrators, with activities bound to these services (functions/*.ts bind to
  // getServices(), which reads process.env).
  df.app.orchestration('connectionLifecycle', connectionLifecycle);
  df.app.orchestration('publishNotice', publishNotice);
  df.app.activity('lifecycleEvaluate', {
    handler: (input: { providerId: string; connectionId: string; now: string; generation: string }) =>
      services.lifecycle.evaluate(input.providerId, input.connectionId, Date.parse(input.now), input.generation),
  });
  df.app.activity('lifecycleRefresh', {
    handler: (input: { providerId: string; connectionId: string; knownVersion: number; generation: string }) =>
      services.lifecycle.refresh(input.providerId, input.connectionId, input.knownVersion, input.generation),
  });
  df.app.activity('lifecycleNotify', { handler: (notice: LifecycleNotice) => services.lifecycle.notify(notice) });
  df.app.orchestration('rotateKeys', rotateKeys);
  df.app.activity('rewrapPage', {
    handler: (input: { table: SecretTable; continuation?: string }) => rewrapPage(tables[input.table], rotationCipher as EnvelopeCipher, input.continuation),
  });
  const durableClientInput = df.input.durableClient();
  df.app.orchestration('providerCascade', deleteProviderCascade);
  df.app.activity('cascadeDeletePage', {
    extraInputs: [durableClientInput],
    handler: (providerId: string, context: InvocationContext) => services.providers.deletePage(providerId, (connections) => endLifecycles(context, connections)),
  });
  df.app.activity('cascadeFinish', { handler: (providerId: string) => services.providers.finishDelete(providerId) });

  const clock = new CountingClock();
  const driver = new DurableDriver({
    registrations: core.registrations,
    storage: { connectionString: azurite.connectionString, tablePrefix: PREFIX },
    clock,
    rpcPort: 0,
    log: (level, message) => log(level, `[durable] ${message}`),
  });
  await driver.start();
  const clientContext = new Context({ functionName: 'bench', options: { trigger: { type: 'httpTrigger', name: 'req' }, extraInputs: [durableClientInput] } });
  clientContext.extraInputs.set(durableClientInput, driver.extraInput({ type: durableClientInput.type, direction: 'in', name: durableClientInput.name }));
  const client = df.getClient(clientContext);
  const waitFor = async (id: string, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const s = await client.getStatus(id);
      if (!['Running', 'Pending', 'ContinuedAsNew'].includes(s.runtimeStatus)) return s;
      if (Date.now() > end) throw new Error(`${id} still ${s.runtimeStatus} after ${timeoutMs} ms (${JSON.stringify(s.customStatus)})`);
      await sleep(100);
    }
  };

  console.log(
    `credman lifecycle bench: ${N.toLocaleString('en-US')} connections, one provider, ${AZURITE_IN_PROCESS ? 'Azurite in this process' : 'embedded Azurite in a child process'}, fake Key Vault + services + local durable driver in this one (Node ${process.version}, ${availableParallelism()} cores)`,
  );

  // ---- setup: provider, connections (each with the app's own access policy), tokens
  const providerBody = {
    properties: {
      identityProvider: 'oauth2',
      oauth2: {
        grantTypes: {
          authorizationCode: {
            clientId: 'bench-client',
            clientSecret: 'bench-client-secret-0123456789',
            authorizationUrl: 'https://idp.example/authorize',
            tokenUrl: 'https://idp.example/token',
            scopes: 'api offline_access',
          },
        },
      },
    },
  } as ProviderPut;
  await services.providers.put(PROVIDER, providerBody);
  const ids = Array.from({ length: N }, (_, i) => `c${String(i).padStart(5, '0')}`);
  const connectionBody: ConnectionPut = { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } };
  let phase = startPhase();
  // Each connection's generation, which its lifecycle's instance id names (LifecycleService.instanceId).
  const generations = new Map<string, string>();
  const lifecycleId = (id: string) => LifecycleService.instanceId(PROVIDER, id, generations.get(id) as string);
  await pool(ids, CONCURRENCY, async (id) => {
    await services.connections.put(PROVIDER, id, connectionBody);
    const createdOn = await services.refresher.store(PROVIDER, id, { accessToken: `at-${id}`, tokenType: 'Bearer', expiresIn: 3600, refreshToken: `rt-${id}`, claims: {} });
    generations.set(id, LifecycleService.generationOf(createdOn));
  });
  let took = phase();
  console.log(`setup:    ${N} connections created (+ the app's access policy) and Connected (token stored, envelope sealed), ${CONCURRENCY} at a time: ${took.text(N, 'connections')}`);

  // ---- 1. schedule N lifecycles until each sleeps on its timer
  const before = memory();
  phase = startPhase();
  await pool(ids, CONCURRENCY, async (id) => {
    await client.startNew('connectionLifecycle', { instanceId: lifecycleId(id), input: { providerId: PROVIDER, connectionId: id, generation: generations.get(id) } });
  });
  const startedMs = phase().ms;
  const scheduleDeadline = Date.now() + 900_000;
  while (clock.armed < N) {
    if (Date.now() > scheduleDeadline) throw new Error(`only ${clock.armed} of ${N} lifecycles armed a timer`);
    await sleep(20);
  }
  took = phase();
  const after = memory();
  // Each is Running, asleep on a timer at its token's due time (~55 min away).
  const sample = ids.filter((_, i) => i % Math.max(1, Math.floor(N / 50)) === 0);
  const statuses = await Promise.all(sample.map((id) => client.getStatus(lifecycleId(id))));
  const running = statuses.filter((s) => s.runtimeStatus === 'Running').length;
  console.log(
    `schedule: ${N} startNew through DurableClient (${CONCURRENCY} at a time) returned in ${secs(startedMs)} s; all ${clock.armed} asleep on their timers after ${took.text(N, 'instances')}`,
  );
  console.log(
    `          memory: RSS ${deltaMB(after.rss - before.rss)} MB (now ${MB(after.rss)} MB), heap ${deltaMB(after.heap - before.heap)} MB (now ${MB(after.heap)} MB) = ${((after.heap - before.heap) / N / 1024).toFixed(1)} KiB heap per sleeping instance` +
      `${AZURITE_IN_PROCESS ? " (includes Azurite's in-memory copy of the durable tables)" : ''}; sample of ${sample.length}: ${running} Running`,
  );

  // ---- 2. key rotation: new KEK version, rewrap every row
  await vault.rotate();
  // A wrapper with a cold DEK cache, as a freshly started instance has: every stale row costs its
  // unwrap at the vault, which is what this step counts. Each page re-reads the current version.
  console.log('rewrap:   vault.rotate(); rotateKeys runs on a cold DEK cache, as on a freshly started instance');
  const wrapper = new KeyVaultKeyWrapper(vault.keyId(), vault.credential, { clientOptions: vault.clientOptions });
  rotationCipher = new EnvelopeCipher(wrapper, new DekCache({ ttlMs: settings.dekCache.ttlMs, maxEntries: settings.dekCache.maxEntries }));
  const newKeyId = await rotationCipher.currentKeyId();
  vault.resetCalls();
  phase = startPhase();
  await client.startNew('rotateKeys', { instanceId: 'rotateKeys', input: {} });
  const rotated = await waitFor('rotateKeys', 900_000);
  took = phase();
  const result = (rotated.output ?? { scanned: 0, rewrapped: 0 }) as { scanned: number; rewrapped: number };
  const calls = { ...vault.calls };
  console.log(
    `          rotateKeys orchestration ${rotated.runtimeStatus}: scanned ${result.scanned} envelopes in 4 tables, rewrapped ${result.rewrapped}: ${took.text(result.rewrapped, 'rows')}; ` +
      `Key Vault calls during it: ${calls.unwrap} unwrap, ${calls.wrap} wrap (wraps are local, with the public key), ${calls.get} get (one re-read of the current version per page) + ${calls.challenge} auth challenge`,
  );
  // Every connection row now names the new version; a random 100 still decrypt through the token store.
  let onNew = 0;
  let onOld = 0;
  for await (const e of tables.connections.listEntities<{ secrets?: string }>({ queryOptions: { filter: odata`PartitionKey eq ${PROVIDER} and secrets ne ${''}`, select: ['secrets'] } })) {
    if (rotationCipher.keyIdOf(e.secrets as string) === newKeyId) onNew++;
    else onOld++;
  }
  const picks = Array.from({ length: Math.min(100, N) }, () => ids[Math.floor(Math.random() * N)]);
  let decrypted = 0;
  vault.resetCalls();
  await pool(picks, CONCURRENCY, async (id) => {
    const got = await services.refresher.obtain(PROVIDER, id, { minValiditySeconds: 0, force: false });
    if (got.token.accessToken === `at-${id}`) decrypted++;
  });
  console.log(
    `          after: ${onNew} connection envelopes on the new key version, ${onOld} on an older one; ${decrypted}/${picks.length} random connections' tokens read back ` +
      `through the services' token store (${vault.calls.unwrap} unwraps at the vault)`,
  );

  // ---- 3. cascade: the provider deleted by the background orchestration
  phase = startPhase();
  await client.startNew('providerCascade', { instanceId: `cascade:${PROVIDER}`, input: { providerId: PROVIDER } });
  const cascaded = await waitFor(`cascade:${PROVIDER}`, 900_000);
  took = phase();
  const deleted = (cascaded.output as { deletedConnections?: number } | null)?.deletedConnections ?? 0;
  console.log(
    `cascade:  providerCascade orchestration ${cascaded.runtimeStatus}: ${deleted} connections with their policies and lifecycles (terminated; housekeeping purges their ended instances after a week): ${took.text(deleted, 'connections')}`,
  );
  // Each deleted connection also started a publishNotice orchestration (connection.deleted): let them finish.
  const durableInstances = TableClient.fromConnectionString(azurite.connectionString, `${PREFIX}DurableInstances`, { allowInsecureConnection: true });
  const notices = () => count(durableInstances, odata`Name eq ${'publishNotice'}`);
  const noticesRunning = () => count(durableInstances, odata`Name eq ${'publishNotice'} and RuntimeStatus ne ${'Completed'}`);
  while ((await noticesRunning()) > 0) await sleep(250);
  const noticeTook = phase();
  const leftConnections = await count(tables.connections, odata`PartitionKey eq ${PROVIDER}`);
  const leftPolicies = await count(tables.accessPolicies, partitionRange(`${PROVIDER}:`));
  const leftProvider = await count(tables.providers, odata`RowKey eq ${PROVIDER}`);
  const leftLifecycles = await count(durableInstances, partitionRange(`lifecycle:${PROVIDER}:`));
  console.log(
    `          ${await notices()} publishNotice (connection.deleted) instances, all Completed ${secs(noticeTook.ms)} s after the cascade started (their rows, and the ended lifecycles', go with housekeeping's weekly purge); timers still armed: ${clock.armed}`,
  );
  console.log(`          rows left for '${PROVIDER}': connections ${leftConnections}, access policies ${leftPolicies}, provider ${leftProvider}, lifecycle instances ${leftLifecycles}`);
  const durableHistory = TableClient.fromConnectionString(azurite.connectionString, `${PREFIX}DurableHistory`, { allowInsecureConnection: true });
  console.log(`          durable tables now: ${await count(durableInstances)} instance rows, ${await count(durableHistory)} history rows`);

  if (problems.length) console.log(`log: ${problems.length} warning(s)/error(s), first: ${problems.slice(0, 3).join(' | ')}`);
  console.log(`total ${secs(performance.now() - began)} s`);
  await driver.stop();
  await vault.close();
  await azurite.stop();
  const ok = leftConnections === 0 && leftPolicies === 0 && onOld === 0 && decrypted === picks.length && rotated.runtimeStatus === 'Completed' && cascaded.runtimeStatus === 'Completed';
  process.exit(ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
