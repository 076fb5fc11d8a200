import { randomBytes } from 'node:crypto';
import { odata, TableClient } from '@azure/data-tables';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type * as DF from 'durable-functions';
import { azuriteConnectionString, startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { ManualClock } from '../../local/durable/clock';
import { DurableDriver } from '../../local/durable/driver';
import { EventType, type HistoryEvent } from '../../local/durable/history';
import { fakeAzureEnvironment } from '../../local/fakes/azureEnvironment';
import { FakeKeyVault } from '../../local/fakes/keyVault';
import { connectionPutSchema, providerPutSchema } from '../../shared/model/schemas';
import { createServices, type Services } from '../../shared/services';
import { loadSettings } from '../../shared/settings';
import { clientOf, eventually, type App } from '../local/durable/support';
import { isActive } from '../../functions/workflows/common';
import { FaultProxy } from './faultProxy';
import { startIdp, type Idp } from './idp';

// The app's orchestrations on the local durable driver with their real dependencies: Table
// Storage (Azurite, reached through a fault proxy), the fake Key Vault over TLS holding the KEK,
// and the identity provider (oidc-provider). The driver keeps its own state in Azurite directly,
// so a storage fault hits the app's tables and not the durable extension's. Time is a
// ManualClock: retry and resume timers are fired by moving it.

const DEV_ACCOUNT = 'devstoreaccount1';

export interface DurableWorld {
  azurite: EmbeddedAzurite;
  proxy: FaultProxy;
  vault: FakeKeyVault;
  idp: Idp;
  services: Services;
  driver: DurableDriver;
  clock: ManualClock;
  client: DF.DurableClient;
  tablePrefix: string;
  /** What the services logged (`level: message`). */
  logs: string[];
  /** An InvocationContext holding the durable client, as a function declaring it as an extra input gets. */
  context(functionName?: string): InvocationContext;
  /** Makes storage answer 503 to every request on one of the app's tables until `proxy.clear()`. */
  failStorage(table: 'Connections' | 'Providers' | 'AccessPolicies' | 'Webhooks'): void;
  /** Creates a provider with both grants, its token endpoint the identity provider's. */
  createProvider(id: string): Promise<void>;
  /** Creates a connection: client credentials (it gets its first token now) or authorization code (it waits for consent). */
  createConnection(providerId: string, id: string, grant?: 'ClientCredentials' | 'AuthorizationCode'): Promise<void>;
  /** Rows of one of the app's tables (read past the proxy). */
  appRows(table: string, partitionKey: (pk: string) => boolean): Promise<number>;
  /** Rows an instance has in the driver's tables. */
  durableRows(instanceId: string): Promise<number>;
  /**
   * Moves the clock to each timer the instance waits on that is due within `withinMs` (retry
   * timers), one after another, until it waits on a later one (`waitsUntil`) or has ended.
   */
  fireTimersWithin(instanceId: string, withinMs: number): Promise<{ status: DF.DurableOrchestrationStatus; waitsUntil?: number }>;
  /** The current execution's history events of the instance. */
  history(instanceId: string): Promise<HistoryEvent[]>;
  /** The app's Connections table, read past the proxy. */
  connectionsTable(): TableClient;
  stop(): Promise<void>;
}

/** A request to a connection's route, as the host hands it to the function. */
export function connectionRequest(method: string, providerId: string, connectionId: string, body?: unknown): HttpRequest {
  return new HttpRequest({
    method,
    url: `http://localhost/api/providers/${providerId}/connections/${connectionId}`,
    params: { providerId, connectionId },
    ...(body === undefined ? {} : { body: { string: JSON.stringify(body) }, headers: { 'content-type': 'application/json' } }),
  });
}

/** `clientMessageDelayMs`: the driver takes a client's messages that long after they were sent (an idle app's queue poll in Azure). */
export async function startDurableWorld(app: App, setServices: (services: Services) => void, options: { clientMessageDelayMs?: number } = {}): Promise<DurableWorld> {
  const [azurite, vault, idp] = await Promise.all([startAzurite(), FakeKeyVault.start(), startIdp({ accessTokenTtl: 3600, scopes: ['api'], clients: [] })]);
  const origin = /TableEndpoint=(http:\/\/[^/;]+)\//.exec(azurite.connectionString)?.[1];
  if (!origin) throw new Error('no table endpoint in the Azurite connection string');
  const proxy = await FaultProxy.start(origin);
  const tablePrefix = 'faults';
  const clientSecret = randomBytes(24).toString('base64url');
  await idp.addClient({
    client_id: 'cm',
    client_secret: clientSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: ['http://127.0.0.1/api/consent/callback'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    scope: 'openid offline_access api',
  });
  const logs: string[] = [];
  const settings = loadSettings(
    fakeAzureEnvironment(azuriteConnectionString(proxy.url), vault.keyId(), {
      CREDMAN_TABLE_PREFIX: tablePrefix,
      CREDMAN_IDP_RETRIES: '0',
      // Private networks stay refused, as in Azure; the identity provider on loopback is allow-listed.
      CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
      // Data keys are kept a second, so that a test can make the next read reach Key Vault.
      CREDMAN_DEK_CACHE_TTL_SECONDS: '1',
    }),
  );
  const services = await createServices(settings, {
    credential: vault.credential,
    keyVaultClientOptions: vault.clientOptions,
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  setServices(services);

  const clock = new ManualClock(Date.now());
  const driver = new DurableDriver({
    registrations: app.core.registrations,
    storage: { connectionString: azurite.connectionString, tablePrefix },
    clock,
    rpcPort: 0,
    log: (level, message) => logs.push(`durable ${level}: ${message}`),
    ...options,
  });
  await driver.start();
  const client = clientOf(app, driver);
  const table = (name: string) => TableClient.fromConnectionString(azurite.connectionString, `${tablePrefix}${name}`, { allowInsecureConnection: true });

  const world: DurableWorld = {
    azurite,
    proxy,
    vault,
    idp,
    services,
    driver,
    clock,
    client,
    tablePrefix,
    logs,
    context(functionName = 'test') {
      const input = app.df.input.durableClient();
      const context = new InvocationContext({ functionName, options: { trigger: { type: 'httpTrigger', name: 'req' }, extraInputs: [input] } });
      context.extraInputs.set(input, driver.extraInput({ type: input.type, direction: 'in', name: input.name }));
      return context;
    },
    failStorage(name) {
      // Retry-After: 0 lets the SDK's own three retries run at once (without it they back off for
      // seconds); the fourth 503 reaches the app, as a 503 that outlasts them does in Azure.
      proxy.inject('status503', {
        times: Number.MAX_SAFE_INTEGER,
        pathPrefix: `/${DEV_ACCOUNT}/${tablePrefix}${name}`,
        retryAfterSeconds: 0,
        body: { 'odata.error': { code: 'ServerBusy', message: { lang: 'en-US', value: 'The server is busy.' } } },
      });
    },
    async createProvider(id) {
      const common = { clientId: 'cm', clientSecret, tokenUrl: `${idp.url}/token`, clientAuthentication: 'basic' };
      await services.providers.put(
        id,
        providerPutSchema.parse({
          properties: {
            identityProvider: 'oauth2',
            oauth2: {
              grantTypes: {
                authorizationCode: { ...common, authorizationUrl: `${idp.url}/auth`, scopes: 'openid offline_access api' },
                clientCredentials: { ...common, scopes: 'api' },
              },
            },
          },
        }),
      );
    },
    async createConnection(providerId, id, grant = 'ClientCredentials') {
      await services.connections.put(providerId, id, connectionPutSchema.parse({ properties: { authorizationType: 'OAuth2', oauth2grantType: grant } }));
    },
    async history(instanceId) {
      const row = await driver.getInstance(instanceId);
      return row ? driver.getHistory(row) : [];
    },
    async appRows(name, partitionKey) {
      let n = 0;
      for await (const e of table(name).listEntities()) if (partitionKey(e.partitionKey as string)) n++;
      return n;
    },
    async durableRows(instanceId) {
      let n = 0;
      for (const name of ['DurableInstances', 'DurableHistory']) {
        for await (const _ of table(name).listEntities({ queryOptions: { filter: odata`PartitionKey eq ${instanceId}` } })) n++;
      }
      return n;
    },
    async fireTimersWithin(instanceId, withinMs) {
      for (;;) {
        const s = await eventually(
          async () => {
            const history = await world.history(instanceId);
            const fired = new Set(history.filter((e) => e.EventType === EventType.TimerFired).map((e) => e.TimerId));
            const waiting = history
              .filter((e) => e.EventType === EventType.TimerCreated && !fired.has(e.EventId))
              .map((e) => Date.parse(String(e.FireAt)))
              .filter((at) => at > clock.now());
            return { status: await client.getStatus(instanceId), next: waiting.length ? Math.min(...waiting) : undefined };
          },
          (x) => x.next !== undefined || !isActive(x.status.runtimeStatus),
          15_000,
        );
        if (s.next === undefined) return { status: s.status };
        if (s.next - clock.now() > withinMs) return { status: s.status, waitsUntil: s.next };
        clock.set(s.next);
      }
    },
    connectionsTable: () => TableClient.fromConnectionString(azurite.connectionString, `${tablePrefix}Connections`, { allowInsecureConnection: true }),
    async stop() {
      await driver.stop();
      await Promise.all([proxy.close(), vault.close(), idp.stop()]);
      await azurite.stop();
    },
  };
  return world;
}
