import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

// The real identity provider (test/support/idp/server.mjs, oidc-provider 9) in a child process:
// oidc-provider is ESM-only and Jest runs CommonJS.

export interface IdpClient {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none';
  redirect_uris: string[];
  grant_types: string[];
  /** Any other RFC 7591 metadata (`scope`, `response_types` …), passed through to oidc-provider. */
  [metadata: string]: unknown;
}

export interface IdpConfig {
  /** 0 (the default): any free port. */
  port?: number;
  /** Access-token and client-credentials token lifetime in seconds; 60 by default. */
  accessTokenTtl?: number;
  /** Refresh-token lifetime in seconds; 14 days by default. */
  refreshTokenTtl?: number;
  /** Scopes granted besides openid, offline_access, email, profile (others are silently dropped). */
  scopes?: string[];
  clients: IdpClient[];
}

export type GrantCounts = Record<'authorization_code' | 'refresh_token' | 'client_credentials', number> & Record<string, number>;

export interface IdpStats {
  /** Requests that reached the token endpoint, by grant type. */
  token: GrantCounts;
  /** Those of them answered 200. */
  tokenSuccess: GrantCounts;
  /** Requests to the authorization endpoint. */
  authorize: number;
}

export interface Idp {
  /** `http://127.0.0.1:PORT`, also the base URL of every endpoint. */
  issuer: string;
  url: string;
  process: ChildProcess;
  stats(): Promise<IdpStats>;
  resetStats(): Promise<void>;
  /** Drops every grant and the tokens under them: the next refresh is `invalid_grant`. */
  revokeAll(): Promise<void>;
  /** Adds or replaces a client. */
  addClient(client: IdpClient): Promise<void>;
  stop(): Promise<void>;
}

const SERVER = join(__dirname, 'idp', 'server.mjs');
const START_TIMEOUT_MS = 15_000;

export async function startIdp(config: IdpConfig): Promise<Idp> {
  const child = spawn(process.execPath, [SERVER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));

  let issuer: string;
  try {
    issuer = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`identity provider ${why}:\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const line = stdout.split('\n', 2);
        if (line.length < 2) return;
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line[0]) as { issuer: string }).issuer);
        } catch {
          fail(`printed ${JSON.stringify(line[0])}`);
        }
      });
      child.once('exit', (code) => fail(`exited with ${code}`));
    });
  } catch (err) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw err;
  }

  const control = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${issuer}/__test/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`identity provider ${method} /__test/${path} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  return {
    issuer,
    url: issuer,
    process: child,
    stats: async () => (await control('GET', 'stats')) as IdpStats,
    resetStats: async () => void (await control('POST', 'reset')),
    revokeAll: async () => void (await control('POST', 'revoke')),
    addClient: async (client) => void (await control('POST', 'clients', { client })),
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
