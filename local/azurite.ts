import { join } from 'node:path';

// Azurite's package main is its VS Code extension, and it ships no typings: embed its Table
// server directly, typed by the few members used here.

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}
type TableServerCtor = new (config: unknown) => AzuriteServer;
type TableConfigurationCtor = new (...args: unknown[]) => unknown;

/** The well-known development account that Azurite accepts (public, documented by Microsoft). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface EmbeddedAzurite {
  connectionString: string;
  stop(): Promise<void>;
}

/** The connection string of the development account on an Azurite Table service at `origin` (http://host:port). */
export function azuriteConnectionString(origin: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=${origin}/${DEV_ACCOUNT};`;
}

/** Starts Azurite's Table service on loopback; in memory unless `persistDir` is given. */
export async function startAzurite(options: { port?: number; persistDir?: string } = {}): Promise<EmbeddedAzurite> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Azurite internals, loaded only when a store is started
  const TableServer = (require('azurite/dist/src/table/TableServer') as { default: TableServerCtor }).default;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Azurite internals, loaded only when a store is started
  const TableConfiguration = (require('azurite/dist/src/table/TableConfiguration') as { default: TableConfigurationCtor }).default;
  const inMemory = options.persistDir === undefined;
  const dbPath = inMemory ? '__azurite_db_table__.json' : join(options.persistDir as string, 'azurite-table.json');
  // Positional: host, port, keepAlive, dbPath, debugLog, accessLog, accessLogStream, debugLogPath,
  // loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, inMemory.
  const config = new TableConfiguration('127.0.0.1', options.port ?? 0, 5, dbPath, false, false, undefined, undefined, false, true, '', '', '', undefined, true, inMemory);
  const server = new TableServer(config);
  await server.start();
  return {
    connectionString: azuriteConnectionString(server.getHttpServerAddress()),
    stop: () => server.close(),
  };
}
