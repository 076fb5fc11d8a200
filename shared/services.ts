import type { TokenCredential } from '@azure/identity';
import type { CryptographyClientOptions } from '@azure/keyvault-keys';
import { DekCache } from './crypto/dekCache';
import { EnvelopeCipher } from './crypto/envelope';
import { INTEGRITY_KEY_ROW, RecordIntegrity } from './crypto/integrity';
import type { KeyWrapper } from './crypto/keyWrapper';
import { LocalKeyWrapper } from './crypto/localKeyWrapper';
import { CallerAuthenticator } from './identity/authenticator';
import { AccessPolicyService } from './management/accessPolicies';
import { ConnectionService } from './management/connections';
import { ProviderService } from './management/providers';
import { SelfServiceService } from './management/selfService';
import type { Settings } from './settings';
import { AccessPolicyStore } from './store/accessPolicies';
import { ConnectionStore } from './store/connections';
import { ConnectionSealer } from './store/connectionSeal';
import { ProviderStore } from './store/providers';
import { createTables, type Tables } from './store/tables';
import { Health } from './health';
import { ConsentService } from './consent/consentService';
import { ConnectSessions } from './consent/connectSessions';
import { IdpClient } from './oauth/idpClient';
import { ConnectionTokenStore } from './store/connectionTokens';
import { ConsentStateStore } from './store/consentStates';
import { AccessCheck } from './tokens/accessCheck';
import { TokenRefresher } from './tokens/refresher';
import { TokenService } from './tokens/tokenService';
import { WebhookStore } from './store/webhooks';
import { LifecycleService } from './lifecycle/lifecycleService';
import { rewrapPage, type RewrapPage } from './crypto/rewrapper';
import { DEFAULT_MIN_VALIDITY_SECONDS } from './tokens/freshness';
import { WebhookPublisher } from './webhooks/publisher';
import { WebhookService } from './webhooks/service';
import { ProxyService } from './proxy/proxyService';
import { McpDirectory } from './mcp/directory';
import type { McpDeps } from './mcp/tools';

// The composition root: settings in, services out. Built once per process at app start.

export interface Services {
  readonly settings: Settings;
  readonly auth: CallerAuthenticator;
  readonly providers: ProviderService;
  readonly connections: ConnectionService;
  readonly accessPolicies: AccessPolicyService;
  readonly consent: ConsentService;
  readonly selfService: SelfServiceService;
  readonly tokens: TokenService;
  /** The token proxy: a caller's request sent to the connection's API with its token. */
  readonly proxy: ProxyService;
  /** What the MCP server's tools use (shared/mcp). */
  readonly mcp: McpDeps;
  readonly refresher: TokenRefresher;
  readonly health: Health;
  /** Webhook subscriptions (management) and `.publisher`, which sends events to them. */
  readonly webhooks: WebhookService;
  readonly lifecycle: LifecycleService;
  /** Key rotation: rewraps one page of a table's envelopes to the KEK's current version. */
  readonly maintenance: { rewrapPage(table: 'providers' | 'connections' | 'webhooks' | 'consentStates', continuation?: string): Promise<RewrapPage> };
}

export interface ServiceDeps {
  /** Azure credential (managed identity in Azure); created on first use when absent. */
  credential?: TokenCredential;
  /** Key Vault SDK client options (tests use them to trust their fake vault's certificate). */
  keyVaultClientOptions?: CryptographyClientOptions;
  /** Per Table Storage request; `STORAGE_REQUEST_TIMEOUT_MS` (10 s) by default. */
  storageTimeoutMs?: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export async function createServices(settings: Settings, deps: ServiceDeps): Promise<Services> {
  let credential = deps.credential;
  // @azure/identity and @azure/keyvault-keys (~170 modules) are loaded only by a deployment that
  // uses them (storage by managed identity, a Key Vault KEK), and then on first use.
  const getCredential = (): TokenCredential => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    credential ??= new (require('@azure/identity') as typeof import('@azure/identity')).DefaultAzureCredential();
    return credential;
  };

  const tables: Tables = createTables(settings.storage, getCredential, {
    timeoutMs: deps.storageTimeoutMs,
    log: (message) => deps.log('warn', `storage: ${message}`),
  });

  const wrapper = await createKeyWrapper(settings, deps, getCredential);
  const cipher = new EnvelopeCipher(wrapper, new DekCache({ ttlMs: settings.dekCache.ttlMs, maxEntries: settings.dekCache.maxEntries }));

  // Rows refused as tampered are logged by kind and key (identifiers, never content).
  let providers: ProviderStore | undefined;
  const integrity = new RecordIntegrity(cipher, tables.providers, {
    report: (record, loc, reason) => deps.log('error', `tamper: the ${record} row ${loc.table}/${loc.partitionKey}/${loc.rowKey} failed its integrity check (${reason}) and was refused`),
    hasProtectedRows: () => providers?.anyProtected() ?? Promise.resolve(false),
  });
  providers = new ProviderStore(tables.providers, cipher, integrity);
  const connectionSealer = new ConnectionSealer(tables.connections.tableName, cipher, integrity, async (providerId) => {
    const provider = await providers?.getWithSecrets(providerId);
    return provider && (provider.bindingKey ?? null);
  });
  const connections = new ConnectionStore(tables.connections, connectionSealer);
  const policies = new AccessPolicyStore(tables.accessPolicies, integrity);

  const idpSettings = settings.identityProviders;
  const idp = new IdpClient({
    timeoutMs: idpSettings.timeoutMs,
    retries: idpSettings.retries,
    destination: { allowPrivateNetworks: settings.outbound.allowPrivateNetworks, allowedPrivateHosts: idpSettings.allowedPrivateHosts },
  });
  const connectionTokens = new ConnectionTokenStore(tables.connections, connectionSealer);
  const refresher = new TokenRefresher(providers, connectionTokens, idp, {
    callsPerMinute: idpSettings.callsPerMinute,
    // Longer than one call with all its retries and waits, so a lease never ends under its holder.
    leaseMs: (idpSettings.retries + 1) * (idpSettings.timeoutMs + 5_000) + 5_000,
    waitMs: (idpSettings.retries + 1) * (idpSettings.timeoutMs + 5_000),
    forceRefresh: settings.forceRefresh,
    log: (level, message) => deps.log(level, message),
  });
  const tokens = new TokenService(new AccessCheck(policies, connectionTokens, settings.tokenCache.enabled ? settings.tokenCache.policyTtlMs : 0), refresher, {
    cacheEnabled: settings.tokenCache.enabled,
    appIdentity: settings.appIdentity,
  });
  const forget = (providerId: string, connectionId: string) => tokens.forget(providerId, connectionId);
  const trustedIssuers = settings.auth.issuers.map((i) => i.issuer);
  const webhookStore = new WebhookStore(tables.webhooks, cipher, integrity);
  const webhooks = new WebhookService(webhookStore, new WebhookPublisher(webhookStore, { allowPrivateNetworks: settings.outbound.allowPrivateNetworks, log: deps.log }), settings.outbound);

  const connectionService = new ConnectionService(providers, connections, policies, settings.appIdentity, tokens, idp);
  const consent = new ConsentService(providers, connections, new ConsentStateStore(tables.consentStates, cipher, integrity), refresher, idp, {
    publicBaseUrl: settings.publicBaseUrl,
    allowedRedirectOrigins: settings.consent.allowedRedirectOrigins,
    onChanged: forget,
    connect: new ConnectSessions(providers, connections, policies, trustedIssuers, connectionService, forget),
  });

  const selfService = new SelfServiceService(providers, connections, policies, connectionService, consent, forget);
  const proxy = new ProxyService(tokens, providers, { allowPrivateNetworks: settings.outbound.allowPrivateNetworks, providerTtlMs: settings.tokenCache.policyTtlMs });

  return {
    settings,
    auth: new CallerAuthenticator(settings.auth, {
      logger: (e) => deps.log(e.event === 'JwksUnavailable' ? 'error' : 'info', `auth: ${e.event}${'issuer' in e ? ` ${e.issuer}` : ''}: ${e.reason}`),
    }),
    providers: new ProviderService(providers, connections, policies, settings.publicBaseUrl, idp, forget, { allowPrivateNetworks: settings.outbound.allowPrivateNetworks }),
    connections: connectionService,
    accessPolicies: new AccessPolicyService(providers, connections, policies, trustedIssuers, forget),
    consent,
    selfService,
    tokens,
    proxy,
    mcp: {
      directory: new McpDirectory(providers, connections, policies, selfService),
      selfService,
      proxy,
      tokens,
      agentTokenAccess: async (providerId: string, connectionId: string) => (await connectionTokens.read(providerId, connectionId))?.agentTokenAccess === true,
      log: deps.log,
    },
    refresher,
    health: new Health(tables, wrapper),
    webhooks,
    lifecycle: new LifecycleService(providers, connectionTokens, tokens, { ...settings.lifecycle, minValidityMs: DEFAULT_MIN_VALIDITY_SECONDS * 1000 }, webhooks.publisher, (message) =>
      deps.log('info', message),
    ),
    maintenance: {
      rewrapPage: (table, continuation) => rewrapPage(tables[table], cipher, continuation, undefined, undefined, table === 'providers' || table === 'webhooks' ? isProtectedOrKey : undefined),
    },
  };
}

/** Provider and webhook rows that carry a version (protected), and the integrity key's row: what a rewrap may change. */
const isProtectedOrKey = (row: { partitionKey?: string; sealVersion?: unknown }): boolean =>
  (row.sealVersion !== undefined && row.sealVersion !== null) || row.partitionKey === INTEGRITY_KEY_ROW.partitionKey;

async function createKeyWrapper(settings: Settings, deps: ServiceDeps, credential: () => TokenCredential): Promise<KeyWrapper> {
  const kek = settings.kek;
  if (kek.provider === 'local') return LocalKeyWrapper.open(kek.file, (m) => deps.log('warn', m));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KeyVaultKeyWrapper } = require('./crypto/keyVaultKeyWrapper') as typeof import('./crypto/keyVaultKeyWrapper');
  return new KeyVaultKeyWrapper(kek.keyId, credential(), { clientOptions: deps.keyVaultClientOptions });
}
