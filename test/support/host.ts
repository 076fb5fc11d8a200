import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { DevIssuer, type MintOptions } from '../../local/devIssuer';
import { devIssuerUrl } from '../../local/hostSettings';

// The local host (dist/local/start.js, built by globalSetup) in a child process on a free port,
// over an Azurite the test owns, so that tests can read raw rows.

export interface ApiResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  body: any;
  text: string;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export interface TestHost {
  baseUrl: string;
  apiUrl: string;
  dataDir: string;
  azurite: EmbeddedAzurite;
  process: ChildProcess;
  output: () => string;
  issuer: DevIssuer;
  adminToken: string;
  token(opts?: MintOptions): Promise<string>;
  request(method: string, path: string, opts?: RequestOptions): Promise<ApiResponse>;
  table(name: string): TableClient;
  stop(): Promise<number | null>;
}

const ROOT = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 45_000;

/** For the message of a host that did not start: does its storage answer, and is this process responsive? */
async function whyNotStarted(azurite: EmbeddedAzurite): Promise<string> {
  const lagStart = Date.now();
  await new Promise((r) => setImmediate(r));
  const lag = Date.now() - lagStart;
  const endpoint = /TableEndpoint=([^;]+)/.exec(azurite.connectionString)?.[1];
  let storage = 'unknown';
  if (endpoint) {
    const t = Date.now();
    storage = await fetch(`${endpoint}/Tables`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => `storage answered ${r.status} in ${Date.now() - t} ms`,
      (e: unknown) => `storage did not answer: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return `${storage}; this process's event loop lag ${lag} ms`;
}

/** `shared`: an Azurite owned by the caller (several hosts on one storage); it is not stopped here. */
export async function startHost(env: Record<string, string> = {}, shared?: EmbeddedAzurite): Promise<TestHost> {
  const azurite = shared ?? (await startAzurite());
  const stopAzurite = () => (shared ? Promise.resolve() : azurite.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'credman-test-'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/local/start.js')], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      CREDMAN_LOCAL_PORT: '0',
      // Timers (housekeeping every 15 min, key rotation daily) must not land mid-test; tests start operations themselves.
      CREDMAN_LOCAL_TIMERS: 'false',
      CREDMAN_LOCAL_DATA_DIR: dataDir,
      CREDMAN_STORAGE_CONNECTION_STRING: azurite.connectionString,
      // Said here, not left to the local host's default: the test identity provider, its fault
      // proxy and webhook receivers are on loopback. Tests of the guard set it to 'false'.
      CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const started = new Promise<string>((resolve, reject) => {
    // Generous: the whole suite runs in one process on 2 cores, and a stall of this process also
    // stalls the Azurite in it that the host starts on. The message says which it was.
    const timer = setTimeout(() => {
      void whyNotStarted(azurite).then((why) => reject(new Error(`host did not start in ${START_TIMEOUT_MS / 1000} s (${why}):\n${out}`)));
    }, START_TIMEOUT_MS);
    const check = () => {
      const m = /listening on (http:\/\/localhost:\d+)\/api/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code}:\n${out}`));
    });
  });
  let baseUrl: string;
  try {
    baseUrl = await started;
  } catch (err) {
    child.kill('SIGKILL');
    await stopAzurite();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = Number(new URL(baseUrl).port);
  const issuer = await DevIssuer.loadOrCreate(dataDir, devIssuerUrl(port));
  const adminToken = await issuer.mint({ admin: true });
  const apiUrl = `${baseUrl}/api`;

  const request = async (method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse> => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const token = opts.token === undefined ? adminToken : opts.token;
    if (token !== null) headers.authorization ??= `Bearer ${token}`;
    let body: string | Blob | undefined = typeof opts.rawBody === 'string' ? opts.rawBody : opts.rawBody && new Blob([new Uint8Array(opts.rawBody)]);
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(path.startsWith('http') ? path : `${apiUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    baseUrl,
    apiUrl,
    dataDir,
    azurite,
    process: child,
    output: () => out,
    issuer,
    adminToken,
    token: (opts) => issuer.mint(opts),
    request,
    table: (name) => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true }),
    stop: async () => {
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
      });
      child.kill('SIGINT');
      const code = await exited;
      await stopAzurite();
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export const oauth2Provider = (overrides: Record<string, string> = {}) => ({
  properties: {
    displayName: 'GitHub',
    identityProvider: 'oauth2',
    oauth2: {
      grantTypes: {
        authorizationCode: {
          clientId: 'client-123',
          clientSecret: 'provider-secret-VALUE-1',
          authorizationUrl: 'https://github.example/login/oauth/authorize',
          tokenUrl: 'https://github.example/login/oauth/access_token',
          scopes: 'repo user',
          ...overrides,
        },
        clientCredentials: {
          clientId: 'client-123',
          clientSecret: 'provider-secret-VALUE-2',
          tokenUrl: 'https://github.example/token',
        },
      },
    },
  },
});

export const authCodeConnection = { properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode' } };

export const isErrorShape = (body: unknown): boolean => {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } })?.error;
  return typeof e?.code === 'string' && /^[A-Z][A-Za-z]+$/.test(e.code) && typeof e.message === 'string' && Array.isArray(e.details);
};
