import { join } from 'node:path';
import { DevIssuer } from '../local/devIssuer';
import { devIssuerUrl } from '../local/hostSettings';
import { spawnChild, type Child } from './children';

// What the token benches stand on, each part in its own process: storage (Azurite behind a
// request counter), the identity provider (oidc-provider with one client-credentials client),
// credman hosts on that storage, and one connection whose token they serve.

const ROOT = join(__dirname, '..', '..');
const CLIENT = { id: 'bench', secret: 'bench-secret-0123456789' };

/** The token route of the bench's connection, below `/api`. */
export const TOKEN_PATH = '/providers/bench/connections/load/token';

export interface BenchHost extends Child {
  issuer: DevIssuer;
  /** http://localhost:<port>/api */
  api: string;
}

export interface TokenWorld {
  /** Storage's own request counts (the storage server's `/__counts`). */
  tableCounts(): Promise<{ get: number; other: number }>;
  /**
   * A credman host on the shared storage and KEK; orchestrations and timers off (the token path
   * alone). `appRoot`: another build of credman (its dist/local/start.js) than this one.
   */
  host(name: string, env?: Record<string, string>, nodeArgs?: string[], appRoot?: string): Promise<BenchHost>;
  /** Creates the client-credentials provider (with `apiBaseUrl` for the proxy) and connection through `host`; every host serves them. */
  createConnection(host: BenchHost, opts?: { apiBaseUrl?: string }): Promise<void>;
}

export async function startTokenWorld(work: string, children: Child[]): Promise<TokenWorld> {
  const storage = await spawnChild([join(__dirname, 'storageServer.js')], {}, /"port":(\d+)/);
  children.push(storage);
  const connectionString = (JSON.parse(storage.output.trim().split('\n')[0]) as { connectionString: string }).connectionString;
  const idpConfig = {
    accessTokenTtl: 3600,
    scopes: ['api'],
    clients: [{ client_id: CLIENT.id, client_secret: CLIENT.secret, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [], grant_types: ['client_credentials'], response_types: [] }],
  };
  const idp = await spawnChild([join(ROOT, 'test/support/idp/server.mjs'), JSON.stringify(idpConfig)], {}, /"port":(\d+)/);
  children.push(idp);

  return {
    tableCounts: async () => (await (await fetch(`http://127.0.0.1:${storage.port}/__counts`)).json()) as { get: number; other: number },
    async host(name, env = {}, nodeArgs = [], appRoot = ROOT) {
      const dataDir = join(work, name);
      const h = await spawnChild(
        [...nodeArgs, join(appRoot, 'dist/local/start.js')],
        {
          CREDMAN_LOCAL_PORT: '0',
          CREDMAN_LOCAL_DATA_DIR: dataDir,
          CREDMAN_LOCAL_KEK_FILE: join(work, 'kek.json'),
          CREDMAN_STORAGE_CONNECTION_STRING: connectionString,
          // Two hosts on one storage must not both run orchestrations.
          CREDMAN_LOCAL_DURABLE: 'false',
          CREDMAN_LOCAL_TIMERS: 'false',
          ...env,
        },
        /listening on http:\/\/localhost:(\d+)\/api/,
      );
      children.push(h);
      const issuer = await DevIssuer.loadOrCreate(dataDir, devIssuerUrl(h.port));
      return { ...h, issuer, api: `http://localhost:${h.port}/api` };
    },
    async createConnection(host, opts = {}) {
      const headers = { authorization: `Bearer ${await host.issuer.mint({ admin: true })}`, 'content-type': 'application/json' };
      const put = async (path: string, body: unknown) => {
        const r = await fetch(`${host.api}${path}`, { method: 'PUT', headers, body: JSON.stringify(body) });
        if (r.status >= 300) throw new Error(`PUT ${path}: ${r.status} ${await r.text()}`);
      };
      const clientCredentials = { clientId: CLIENT.id, clientSecret: CLIENT.secret, tokenUrl: `http://127.0.0.1:${idp.port}/token`, scopes: 'api', clientAuthentication: 'basic' };
      await put('/providers/bench', { properties: { identityProvider: 'oauth2', ...opts, oauth2: { grantTypes: { clientCredentials } } } });
      await put('/providers/bench/connections/load', { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } });
    },
  };
}
