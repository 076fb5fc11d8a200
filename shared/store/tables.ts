import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';

export const TABLE_NAMES = ['providers', 'connections', 'accessPolicies', 'consentStates', 'webhooks'] as const;
export type TableName = (typeof TABLE_NAMES)[number];
export type Tables = Record<TableName, TableClient>;

export interface StorageOptions {
  connectionString?: string;
  tableEndpoint?: string;
  tablePrefix: string;
}

/** One TableClient per table, by connection string (Azurite) or by managed identity (Azure). */
export function createTables(options: StorageOptions, credential: () => TokenCredential): Tables {
  const make = (name: TableName): TableClient => {
    const table = `${options.tablePrefix}${name[0].toUpperCase()}${name.slice(1)}`;
    if (options.connectionString) {
      return TableClient.fromConnectionString(options.connectionString, table, {
        allowInsecureConnection: /^DefaultEndpointsProtocol=http;|TableEndpoint=http:/i.test(options.connectionString),
      });
    }
    return new TableClient(options.tableEndpoint as string, table, credential());
  };
  return {
    providers: make('providers'),
    connections: make('connections'),
    accessPolicies: make('accessPolicies'),
    consentStates: make('consentStates'),
    webhooks: make('webhooks'),
  };
}

export async function ensureTables(tables: Tables): Promise<void> {
  await Promise.all(Object.values(tables).map((t) => t.createTable()));
}
