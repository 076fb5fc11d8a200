import { randomBytes } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { TamperedRecordError } from '../errors';
import { canonicalJson, digestOf, type RecordIntegrity } from '../crypto/integrity';
import { deleteCounted, readEntity, upsertCounted, type Precondition } from './countedPartition';
import { listPartition, type Page } from './paging';
import type { EnvelopeCipher, RecordLocation } from '../crypto';
import type { SelfService } from '../model/schemas';

// All providers share one partition: the list is a single partition query, and the 1,000-provider
// limit is one counter row in it.
const PARTITION = 'providers';
export const MAX_PROVIDERS = 1000;
/**
 * A random key sealed with every provider's secrets (so a provider always has an envelope, even
 * without a client secret). It stays the same across replaces; connections bind their tokens to it,
 * so a provider row made by someone else (with a KEK public key) cannot open them.
 */
const BINDING_KEY = '!bindingKey';

export type ProviderGrantTypes = { authorizationCode?: Record<string, string>; clientCredentials?: Record<string, string> };

export interface ProviderRecord {
  id: string;
  displayName?: string;
  identityProvider: string;
  /** Non-secret parameters only. */
  grantTypes: ProviderGrantTypes;
  selfService?: SelfService;
  /** The proxy's upstream, set by an admin; in the envelope's binding. */
  apiBaseUrl?: string;
  createdOn: string;
  changedOn: string;
  etag: string;
}

/** What a provider's envelope is bound to, besides its version. */
export type ProviderConfig = Pick<ProviderRecord, 'identityProvider' | 'grantTypes' | 'selfService' | 'apiBaseUrl'>;

interface ProviderEntity {
  displayName?: string;
  identityProvider: string;
  grantTypes: string;
  /** JSON of SelfService; absent: never enabled. */
  selfService?: string;
  apiBaseUrl?: string;
  secrets?: string;
  /** Grows with every write; in the envelope's binding (docs/storage.md, "Tamper detection"). */
  sealVersion?: number;
  createdOn: string;
  changedOn: string;
}

/**
 * What a provider's envelope is bound to: its template and every plain parameter of every grant
 * (client id, authorization, token and registration endpoints, issuer, scopes, client
 * authentication, …), self-service and the proxy's upstream, and the row's version. Only the
 * display name stays outside.
 */
export function providerBinding({ identityProvider, grantTypes, selfService, apiBaseUrl }: ProviderConfig, version: number): string {
  // Self-service decides who may create connections and which apps their policies name; the API
  // root receives every proxied token. Each absent, the digest is as before it existed.
  return canonicalJson({ config: digestOf({ identityProvider, grantTypes, ...(selfService ? { selfService } : {}), ...(apiBaseUrl ? { apiBaseUrl } : {}) }), version });
}

export class ProviderStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: EnvelopeCipher,
    private readonly integrity: RecordIntegrity,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(id: string): Promise<ProviderRecord | undefined> {
    const e = await readEntity<ProviderEntity>(this.table, PARTITION, id);
    return e && toRecord(id, e, e.etag);
  }

  /**
   * The provider with its decrypted secrets, keyed `<grantType>.<parameter>`: for the OAuth engine
   * only. Its configuration is verified against the envelope's binding first: a row changed outside
   * credman is a TamperedRecordError, and nothing of it is used.
   */
  async getWithSecrets(id: string): Promise<{ record: ProviderRecord; secrets: Record<string, string>; bindingKey?: string } | undefined> {
    const e = await readEntity<ProviderEntity>(this.table, PARTITION, id);
    return e && this.open(id, e);
  }

  private async open(id: string, e: TableEntityResult<ProviderEntity>): Promise<{ record: ProviderRecord; secrets: Record<string, string>; bindingKey?: string }> {
    const loc = this.loc(id);
    let grantTypes: ProviderGrantTypes;
    let selfService: SelfService | undefined;
    try {
      grantTypes = JSON.parse(e.grantTypes) as ProviderGrantTypes;
      selfService = e.selfService ? (JSON.parse(e.selfService) as SelfService) : undefined;
    } catch {
      throw this.integrity.tampered('provider', loc, 'Malformed');
    }
    const config: ProviderConfig = { identityProvider: e.identityProvider, grantTypes, ...(selfService ? { selfService } : {}), ...(e.apiBaseUrl ? { apiBaseUrl: e.apiBaseUrl } : {}) };
    const opened = await this.integrity.openBound('provider', loc, e, (version) => providerBinding(config, version));
    const { [BINDING_KEY]: bindingKey, ...secrets } = opened;
    return { record: toRecord(id, e, e.etag), secrets, ...(bindingKey ? { bindingKey } : {}) };
  }

  /** Whether any provider row carries a bound envelope: evidence that protection began (see RecordIntegrity). */
  async anyProtected(): Promise<boolean> {
    const page = await listPartition<ProviderEntity>(this.table, PARTITION, MAX_PROVIDERS, undefined);
    const bound = (sealed: string) => {
      try {
        return this.sealer.isBound(sealed);
      } catch {
        // Unreadable: something is wrong with the table; do not take it as a fresh start.
        return true;
      }
    };
    return page.items.some((e) => e.sealVersion !== undefined || (typeof e.secrets === 'string' && bound(e.secrets)));
  }

  async list(top: number, skipToken?: string): Promise<Page<ProviderRecord>> {
    const page = await listPartition<ProviderEntity>(this.table, PARTITION, top, skipToken);
    return { items: page.items.map((e) => toRecord(e.rowKey as string, e, e.etag)), skipToken: page.skipToken };
  }

  /** Secrets are keyed `<grantType>.<parameter>`, e.g. `authorizationCode.clientSecret`. */
  async put(id: string, value: { displayName?: string } & ProviderConfig, secrets: Record<string, string>, pre: Precondition = {}): Promise<{ created: boolean; record: ProviderRecord }> {
    const now = this.now().toISOString();
    await this.integrity.ready();
    const r = await upsertCounted<ProviderEntity>(
      this.table,
      PARTITION,
      id,
      async (existing) => {
        const version = this.integrity.nextVersion(existing?.sealVersion);
        const bindingKey = (existing && (await this.keptBindingKey(id, existing))) ?? randomBytes(32).toString('base64');
        return {
          partitionKey: PARTITION,
          rowKey: id,
          ...(value.displayName === undefined ? {} : { displayName: value.displayName }),
          identityProvider: value.identityProvider,
          grantTypes: JSON.stringify(value.grantTypes),
          ...(value.selfService ? { selfService: JSON.stringify(value.selfService) } : {}),
          ...(value.apiBaseUrl ? { apiBaseUrl: value.apiBaseUrl } : {}),
          secrets: await this.sealer.seal(this.loc(id), { ...secrets, [BINDING_KEY]: bindingKey }, providerBinding(value, version)),
          sealVersion: version,
          createdOn: existing?.createdOn ?? now,
          changedOn: now,
        };
      },
      { limit: MAX_PROVIDERS, limitMessage: `An instance holds at most ${MAX_PROVIDERS} credential providers.`, ...pre },
    );
    this.integrity.written(this.loc(id), r.entity.sealVersion);
    return { created: r.created, record: toRecord(id, r.entity, r.etag) };
  }

  async delete(id: string, ifMatch?: string): Promise<boolean> {
    const deleted = await deleteCounted(this.table, PARTITION, id, ifMatch);
    if (deleted) this.integrity.deleted(this.loc(id));
    return deleted;
  }

  /** The binding key of the provider as stored, if it verifies: a replace keeps its connections' tokens usable. */
  private async keptBindingKey(id: string, existing: TableEntityResult<ProviderEntity>): Promise<string | undefined> {
    try {
      return (await this.open(id, existing)).bindingKey;
    } catch (err) {
      // A tampered row is being written over by an administrator: its connections must consent again.
      if (err instanceof TamperedRecordError) return undefined;
      throw err;
    }
  }

  private loc(id: string): RecordLocation {
    return { table: this.table.tableName, partitionKey: PARTITION, rowKey: id };
  }
}

function toRecord(id: string, e: ProviderEntity, etag: string): ProviderRecord {
  return {
    id,
    ...(e.displayName === undefined ? {} : { displayName: e.displayName }),
    identityProvider: e.identityProvider,
    grantTypes: JSON.parse(e.grantTypes) as ProviderGrantTypes,
    ...(e.selfService ? { selfService: JSON.parse(e.selfService) as SelfService } : {}),
    ...(e.apiBaseUrl ? { apiBaseUrl: e.apiBaseUrl } : {}),
    createdOn: e.createdOn,
    changedOn: e.changedOn,
    etag,
  };
}
