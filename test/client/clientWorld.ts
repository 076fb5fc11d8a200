import type { AccessToken, TokenCredential } from '@azure/identity';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { FaultProxy } from '../support/faultProxy';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, startOAuthWorld, type OAuthWorld } from '../support/oauthWorld';

// What the SDK tests share: credman's local host with oidc-provider as identity provider, one
// authorization-code connection consented through the real pages, and a FaultProxy in front of
// credman itself (not of the identity provider) that counts the SDK's requests and injects faults.

export interface ClientWorld {
  world: OAuthWorld;
  host: TestHost;
  /** In front of the credman host: the SDK's baseUrl. */
  credman: FaultProxy;
  providerId: string;
  connectionId: string;
  policy(id: string, properties: object): Promise<void>;
  stop(): Promise<void>;
}

export async function startClientWorld(env: Record<string, string> = {}): Promise<ClientWorld> {
  const world = await startOAuthWorld({ accessTokenTtl: 3600 });
  // The SDK tests force refreshes that must reach the provider (one caller, several a minute).
  const forced = { CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0', CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: '20', CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: '20' };
  const host = await startHost({ CREDMAN_IDP_RETRIES: '0', CREDMAN_IDP_TIMEOUT_SECONDS: '2', CREDMAN_LOCAL_DURABLE: 'false', ...forced, ...env });
  const credman = await FaultProxy.start(host.baseUrl);
  const providerId = 'gh';
  const connectionId = 'alice';
  await registerClient(world, [host], 'cm-sdk');
  expectStatus(await createProvider(host, world, providerId, 'cm-sdk'), 201);
  expectStatus(await createConnection(host, providerId, connectionId), 201);
  const done = await consent(host, providerId, connectionId);
  if (done.status !== 'success') throw new Error(`consent ended with ${done.code}`);
  return {
    world,
    host,
    credman,
    providerId,
    connectionId,
    async policy(id, properties) {
      expectStatus(await host.request('PUT', `/providers/${providerId}/connections/${connectionId}/accessPolicies/${id}`, { body: { properties } }), 201);
    },
    async stop() {
      await credman.close();
      await host.stop();
      await world.stop();
    },
  };
}

function expectStatus(r: { status: number; text: string }, status: number): void {
  if (r.status !== status) throw new Error(`expected ${status}, got ${r.status}: ${r.text}`);
}

/** A TokenCredential that hands out dev-issuer tokens for `oid`, counting its calls. */
export function devCredential(host: TestHost, oid: string, opts: { ttlSeconds?: number; audience?: string; refreshAfter?: () => number } = {}) {
  const credential = {
    calls: 0,
    scopes: [] as string[],
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      credential.calls += 1;
      credential.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
      const ttlSeconds = opts.ttlSeconds ?? 3600;
      const token = await host.token({ oid, tid: DEV_TENANT_ID, ttlSeconds, ...(opts.audience ? { audience: opts.audience } : {}) });
      return {
        token,
        expiresOnTimestamp: Date.now() + ttlSeconds * 1000,
        ...(opts.refreshAfter ? { refreshAfterTimestamp: opts.refreshAfter() } : {}),
      };
    },
  };
  return credential satisfies TokenCredential;
}

/** The global fetch, counting calls and keeping each request's URL and Authorization header. */
export function countingFetch() {
  const seen: Array<{ url: string; authorization: string | null }> = [];
  const wrapped: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    return fetch(input, init);
  };
  return {
    fetch: wrapped,
    seen,
    get calls() {
      return seen.length;
    },
  };
}
