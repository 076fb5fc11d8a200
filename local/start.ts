import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { CONSOLE_BASE } from '../shared/consolePaths';
import { metrics } from '../shared/metrics';
import { startAzurite, type EmbeddedAzurite } from './azurite';
import type { DurableDriver } from './durable/driver';
import { installCoreApi, runHooks } from './host/coreApi';
import { httpRoutes } from './host/routes';
import { createHostServer, type HostTable } from './host/server';
import { streamWorker } from './host/stream';
import { DEV_ADMIN_ROLE, DEV_APP_OBJECT_ID, DEV_ISSUER_JWKS_PATH, DEV_TENANT_ID, DevIssuer, devIssuerJwksUri } from './devIssuer';
import { DEV_AUDIENCE, devIssuerUrl, loadLocalHostSettings, localEnvironment } from './hostSettings';
import { devConsoleOidc, devOidcHandler, devOidcIssuer, devOidcJwksUri } from './devOidc';

// `npm start`: the app on a laptop or CI, no Azure account. Embedded Azurite (in memory unless
// CREDMAN_STORAGE_CONNECTION_STRING is set), the local KEK file, the dev issuer, and the app's
// own functions registered through @azure/functions-core exactly as the Functions worker does.

const APP_ROOT = resolve(__dirname, '..', '..');

/** The entry points named by package.json `main` (a file or a `dir/*.js` glob), as the worker loads them. */
function entryPoints(): string[] {
  const main = (JSON.parse(readFileSync(join(APP_ROOT, 'package.json'), 'utf8')) as { main: string }).main;
  const pattern = join(APP_ROOT, main);
  if (!basename(pattern).includes('*')) return [pattern];
  const re = new RegExp(
    `^${basename(pattern)
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return readdirSync(dirname(pattern))
    .filter((f) => re.test(f))
    .sort()
    .map((f) => join(dirname(pattern), f));
}

/** The task hub host.json names, as the Durable Functions extension reads it (its default otherwise). */
function taskHubName(): string | undefined {
  const hostJson = JSON.parse(readFileSync(join(APP_ROOT, 'host.json'), 'utf8')) as { extensions?: { durableTask?: { hubName?: unknown } } };
  const name = hostJson.extensions?.durableTask?.hubName;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

async function main(): Promise<void> {
  const env = localEnvironment();
  const host = loadLocalHostSettings(env);
  mkdirSync(host.dataDir, { recursive: true, mode: 0o700 });

  const table: HostTable = { routes: [] };
  let issuer: DevIssuer | undefined;
  let durable: DurableDriver | undefined;
  let oidc: ReturnType<typeof devOidcHandler> | undefined;
  const server = createHostServer(
    table,
    [
      // The durable extension's webhook API (the management URLs handed to callers).
      (req, res) => durable?.handleHttp(req, res) ?? false,
      // The console's sign-in: an OpenID Connect provider with dev accounts (admin, alice, bob).
      (req, res) => oidc?.(req, res) ?? false,
      (req, res) => {
        if (req.url !== `/dev-issuer${DEV_ISSUER_JWKS_PATH}` || !issuer) return false;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(issuer.jwks()));
        return true;
      },
      // Counters of costly work (KEK unwraps, identity-provider calls…), for the bench and the curious.
      (req, res) => {
        if (req.url !== '/admin/stats' || req.socket.remoteAddress?.replace('::ffff:', '') !== '127.0.0.1') return false;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(metrics));
        return true;
      },
      // Like the Functions host's admin API: what the app registered, with its metadata.
      (req, res) => {
        if (req.url !== '/admin/functions' || req.socket.remoteAddress?.replace('::ffff:', '') !== '127.0.0.1') return false;
        const list = table.routes.map((r) => ({ name: r.registration.metadata.name, route: r.template, methods: r.methods, trigger: r.trigger.type, authLevel: r.trigger.authLevel }));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(list));
        return true;
      },
    ],
    { durableClient: (binding) => durable?.extraInput(binding) },
  );
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(host.port, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://localhost:${port}`;
  issuer = await DevIssuer.loadOrCreate(host.dataDir, devIssuerUrl(port));
  const oidcIssuer = devOidcIssuer(baseUrl);
  oidc = devOidcHandler({ issuer: oidcIssuer, baseUrl, adminRole: env.CREDMAN_ADMIN_ROLE || DEV_ADMIN_ROLE, tokenSeconds: host.signInTokenSeconds });

  let azurite: EmbeddedAzurite | undefined;
  if (!env.CREDMAN_STORAGE_CONNECTION_STRING && !env.CREDMAN_TABLE_ENDPOINT) {
    azurite = await startAzurite();
    env.CREDMAN_STORAGE_CONNECTION_STRING = azurite.connectionString;
  }
  const defaults: Record<string, string> = {
    CREDMAN_KEK_PROVIDER: 'local',
    CREDMAN_LOCAL_KEK_FILE: join(host.dataDir, 'local-kek.json'),
    // The dev issuer, plus any the developer adds (a workload issuer to try issuer+subject policies).
    CREDMAN_AUTH_ISSUERS: JSON.stringify([
      { issuer: issuer.issuer, jwksUri: devIssuerJwksUri(issuer.issuer), kind: 'entra' },
      // The console's sign-in: Entra-shaped tokens (oid, tid, roles) of the dev accounts.
      { issuer: oidcIssuer, jwksUri: devOidcJwksUri(oidcIssuer), kind: 'entra' },
      ...(env.CREDMAN_LOCAL_EXTRA_ISSUERS ? (JSON.parse(env.CREDMAN_LOCAL_EXTRA_ISSUERS) as unknown[]) : []),
    ]),
    CREDMAN_AUTH_AUDIENCES: DEV_AUDIENCE,
    CREDMAN_APP_TENANT_ID: DEV_TENANT_ID,
    CREDMAN_APP_OBJECT_ID: DEV_APP_OBJECT_ID,
    CREDMAN_PUBLIC_BASE_URL: baseUrl,
    CREDMAN_CONSOLE_OIDC: devConsoleOidc(oidcIssuer),
    // Webhook receivers and identity providers on a laptop listen on loopback.
    CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true',
  };
  for (const [k, v] of Object.entries({ ...defaults, ...env })) if (v !== undefined) process.env[k] = v;

  const core = installCoreApi('4.0.0-credman-local');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- each function file registers itself on load, after the core API shim is installed
  for (const file of entryPoints()) require(file);
  await runHooks(core, 'appStart');
  // As the worker answers the host's init: its capabilities (HttpUri when the app streams).
  table.stream = await streamWorker(core);
  // The Durable Functions extension's part: orchestrations, activities, the client API
  // (CREDMAN_LOCAL_DURABLE=false leaves it out, as a Functions host without the extension would).
  const hub = taskHubName();
  // The driver and the timers are loaded only when on (a host serving the token path alone starts faster).
  if (host.durable)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    durable = new (require('./durable/driver') as typeof import('./durable/driver')).DurableDriver({
      registrations: core.registrations,
      storage: {
        connectionString: process.env.CREDMAN_STORAGE_CONNECTION_STRING,
        tableEndpoint: process.env.CREDMAN_TABLE_ENDPOINT,
        tablePrefix: process.env.CREDMAN_TABLE_PREFIX || 'credman',
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- only for storage by identity
        credential: () => new (require('@azure/identity') as typeof import('@azure/identity')).DefaultAzureCredential(),
      },
      webhookBaseUrl: `${baseUrl}/runtime/webhooks/durabletask`,
      ...(hub === undefined ? {} : { taskHubName: hub }),
    });
  await durable?.start();
  table.routes = httpRoutes(core.registrations);
  // The timer extension's part: app.timer functions on their schedules (CREDMAN_LOCAL_TIMERS=false leaves them out).
  const timers = host.timers
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when timers run
      new (require('./host/timers') as typeof import('./host/timers')).TimerScheduler({ registrations: core.registrations, inputs: { durableClient: (binding) => durable?.extraInput(binding) } })
    : undefined;
  timers?.start();

  console.log(`credman local host listening on ${baseUrl}/api (${table.routes.length} HTTP functions, storage: ${azurite ? 'embedded Azurite, in memory' : 'configured'})`);
  console.log(table.stream ? `  HTTP streaming: on, the worker's proxy at ${table.stream.httpUri.href}` : '  HTTP streaming: off');
  console.log(durable ? `  durable functions: task hub ${durable.taskHubName}, the extension's RPC endpoint at ${durable.rpcBaseUrl}` : '  durable functions: off (CREDMAN_LOCAL_DURABLE=false)');
  console.log(
    timers
      ? `  timers: ${
          timers
            .timers()
            .map((t) => `${t.name} (${t.schedule}, next ${t.next?.toISOString()})`)
            .join(', ') || 'none'
        }`
      : '  timers: off (CREDMAN_LOCAL_TIMERS=false)',
  );
  console.log(`  console:                ${baseUrl}${CONSOLE_BASE} (sign in as admin, alice or bob, any password)`);
  console.log(`  get a dev admin token:  TOKEN=$(npm run -s token -- --admin)`);
  console.log(`  first call:             curl -H "Authorization: Bearer $TOKEN" ${baseUrl}/api/identityProviders`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await timers?.stop();
    await durable?.stop();
    await runHooks(core, 'appTerminate').catch(() => undefined);
    await azurite?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
