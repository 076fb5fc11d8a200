import type { LRUCache } from 'lru-cache';
import { DependencyUnavailableError, ForbiddenError } from '../errors';
import type { Caller } from '../identity/caller';
import { lruCache } from '../lruCache';
import { metrics } from '../metrics';
import type { AccessPolicyStore, PolicySubject } from '../store/accessPolicies';
import { MAX_POLICIES_PER_CONNECTION } from '../store/accessPolicies';

// Who may obtain a connection's tokens. A connection's policies (at most 100, one partition) are
// kept in memory for a short while, so that a warm token request reads no table; a change made
// through this instance applies at once, one made elsewhere within `ttlMs`.
//
// Each load also reads the connection's grant generation (one point read of one column), so the
// policies are known to belong to that generation: the token service serves a cached token only
// of the same generation. So a connection deleted and created again elsewhere, or consented there
// by another account, stops being served its previous grant's token at the next load, within
// `ttlMs`, at no cost to a warm request.

const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** Entra policies match `tid` and `oid` (or a group in `groups`), then `azp`/`appid` if listed; others match issuer + subject exactly. */
export function policyMatches(caller: Caller, policy: PolicySubject): boolean {
  if (policy.kind === 'issuer') return caller.issuer === policy.issuer && caller.subject === policy.subject;
  if (!same(caller.tenantId, policy.tenantId)) return false;
  if (!same(caller.objectId, policy.objectId) && !caller.groups.some((g) => same(g, policy.objectId))) return false;
  return !policy.appIds || policy.appIds.some((a) => same(caller.appId, a));
}

/** Reads a connection's grant generation and creation time (ConnectionTokenStore.generation); undefined when it does not exist. */
export interface GenerationReader {
  generation(providerId: string, connectionId: string): Promise<{ generation: string; createdOn: string } | undefined>;
}

interface Loaded {
  policies: PolicySubject[];
  /** The grant generation the policies were read under; undefined: no such connection. */
  generation: string | undefined;
  loadedAt: number;
}

export class AccessCheck {
  private readonly cache: LRUCache<string, Loaded> = lruCache(50_000);
  private readonly loading = new Map<string, Promise<Loaded>>();

  constructor(
    private readonly store: AccessPolicyStore,
    private readonly generations: GenerationReader,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * 403 unless a policy of the connection names the caller. Absent connections look the same (no
   * enumeration). Returns the grant generation the policies belong to.
   */
  async require(caller: Caller, providerId: string, connectionId: string): Promise<string | undefined> {
    const loaded = await this.load(providerId, connectionId);
    if (!loaded.policies.some((p) => policyMatches(caller, p))) {
      throw new ForbiddenError(`No access policy of connection '${connectionId}' grants the caller its tokens.`);
    }
    return loaded.generation;
  }

  forget(providerId: string, connectionId: string): void {
    const key = `${providerId}/${connectionId}`;
    this.cache.delete(key);
    this.loading.delete(key); // a load under way may predate the change: nobody joins it now, and it is not kept
  }

  private load(providerId: string, connectionId: string): Promise<Loaded> {
    const key = `${providerId}/${connectionId}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.loadedAt < this.ttlMs) return Promise.resolve(hit);
    // Concurrent misses (a burst on a cold instance) share one load.
    const running = this.loading.get(key);
    if (running) return running;
    const p: Promise<Loaded> = this.read(providerId, connectionId)
      .then((loaded) => {
        if (this.ttlMs > 0 && this.loading.get(key) === p) this.cache.set(key, loaded);
        return loaded;
      })
      .finally(() => {
        if (this.loading.get(key) === p) this.loading.delete(key);
      });
    this.loading.set(key, p);
    return p;
  }

  private async read(providerId: string, connectionId: string): Promise<Loaded> {
    // The generation is read before and after the policies: the same value both times means the
    // policies are that generation's (a generation never comes back; a delete removes policies
    // before the row, a create writes the row before policies). Otherwise look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      // Policies written for an earlier connection of this id (a restored copy) are left out.
      const before = await this.generation(providerId, connectionId);
      const page = await this.store.list(providerId, connectionId, MAX_POLICIES_PER_CONNECTION, undefined, before?.createdOn);
      const after = await this.generation(providerId, connectionId);
      if (before?.generation === after?.generation) return { policies: page.items.map((r) => r.subject), generation: after?.generation, loadedAt: this.now() };
    }
    throw new DependencyUnavailableError(`Connection '${connectionId}'`); // changing as we look: the caller retries
  }

  private generation(providerId: string, connectionId: string): Promise<{ generation: string; createdOn: string } | undefined> {
    metrics.grantGenerationReads++;
    return this.generations.generation(providerId, connectionId);
  }
}
