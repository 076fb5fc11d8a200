import type { TableClient } from '@azure/data-tables';
import { deleteCounted, readEntity, upsertCounted } from './countedPartition';
import { listPartition, type Page } from './paging';
import type { EnvelopeCipher } from '../crypto';

// All providers share one partition: the list is a single partition query, and the 1,000-provider
// limit is one counter row in it.
const PARTITION = 'providers';
export const MAX_PROVIDERS = 1000;

export type ProviderGrantTypes = { authorizationCode?: Record<string, string>; clientCredentials?: Record<string, string> };

export interface ProviderRecord {
  id: string;
  displayName?: string;
  identityProvider: string;
  /** Non-secret parameters only. */
  grantTypes: ProviderGrantTypes;
  createdOn: string;
  changedOn: string;
  etag: string;
}

interface ProviderEntity {
  displayName?: string;
  identityProvider: string;
  grantTypes: string;
  secrets?: string;
  createdOn: string;
  changedOn: string;
}

export class ProviderStore {
  constructor(
    private readonly table: TableClient,
    private readonly sealer: EnvelopeCipher,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(id: string): Promise<ProviderRecord | undefined> {
    const e = await readEntity<ProviderEntity>(this.table, PARTITION, id);
    return e && toRecord(id, e, e.etag);
  }

  /** The provider with its decrypted secrets, keyed `<grantType>.<parameter>`: for the OAuth engine only. */
  async getWithSecrets(id: string): Promise<{ record: ProviderRecord; secrets: Record<string, string> } | undefined> {
    const e = await readEntity<ProviderEntity>(this.table, PARTITION, id);
    if (!e) return undefined;
    const secrets = e.secrets ? await this.sealer.open({ table: this.table.tableName, partitionKey: PARTITION, rowKey: id }, e.secrets) : {};
    return { record: toRecord(id, e, e.etag), secrets };
  }

  async list(top: number, skipToken?: string): Promise<Page<ProviderRecord>> {
    const page = await listPartition<ProviderEntity>(this.table, PARTITION, top, skipToken);
    return { items: page.items.map((e) => toRecord(e.rowKey as string, e, e.etag)), skipToken: page.skipToken };
  }

  /** Secrets are keyed `<grantType>.<parameter>`, e.g. `authorizationCode.clientSecret`. */
  async put(
    id: string,
    value: { displayName?: string; identityProvider: string; grantTypes: ProviderGrantTypes },
    secrets: Record<string, string>,
    ifMatch?: string,
  ): Promise<{ created: boolean; record: ProviderRecord }> {
    const now = this.now().toISOString();
    const r = await upsertCounted<ProviderEntity>(
      this.table,
      PARTITION,
      id,
      async (existing) => ({
        partitionKey: PARTITION,
        rowKey: id,
        ...(value.displayName === undefined ? {} : { displayName: value.displayName }),
        identityProvider: value.identityProvider,
        grantTypes: JSON.stringify(value.grantTypes),
        ...(Object.keys(secrets).length
          ? { secrets: await this.sealer.seal({ table: this.table.tableName, partitionKey: PARTITION, rowKey: id }, secrets) }
          : {}),
        createdOn: existing?.createdOn ?? now,
        changedOn: now,
      }),
      { limit: MAX_PROVIDERS, limitMessage: `An instance holds at most ${MAX_PROVIDERS} credential providers.`, ifMatch },
    );
    return { created: r.created, record: toRecord(id, r.entity, r.etag) };
  }

  delete(id: string, ifMatch?: string): Promise<boolean> {
    return deleteCounted(this.table, PARTITION, id, ifMatch);
  }
}

function toRecord(id: string, e: ProviderEntity, etag: string): ProviderRecord {
  return {
    id,
    ...(e.displayName === undefined ? {} : { displayName: e.displayName }),
    identityProvider: e.identityProvider,
    grantTypes: JSON.parse(e.grantTypes) as ProviderGrantTypes,
    createdOn: e.createdOn,
    changedOn: e.changedOn,
    etag,
  };
}
