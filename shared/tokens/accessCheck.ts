import type { LRUCache } from 'lru-cache';
import { ForbiddenError } from '../errors';
import type { Caller } from '../identity/caller';
import { lruCache } from '../lruCache';
import type { AccessPolicyStore, PolicySubject } from '../store/accessPolicies';
import { MAX_POLICIES_PER_CONNECTION } from '../store/accessPolicies';

// Who may obtain a connection's tokens. A connection's policies (at most 100, one partition) are
// kept in memory for a short while, so that a warm token request reads no table; a change made
// through this instance applies at once, one made elsewhere within `ttlMs`.

const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** Entra policies match `tid` and `oid` (or a group in `groups`), then `azp`/`appid` if listed; others match issuer + subject exactly. */
export function policyMatches(caller: Caller, policy: PolicySubject): boolean {
  if (policy.kind === 'issuer') return caller.issuer === policy.issuer && caller.subject === policy.subject;
  if (!same(caller.tenantId, policy.tenantId)) return false;
  if (!same(caller.objectId, policy.objectId) && !caller.groups.some((g) => same(g, policy.objectId))) return false;
  return !policy.appIds || policy.appIds.some((a) => same(caller.appId, a));
}

export class AccessCheck {
  private readonly cache: LRUCache<string, { policies: PolicySubject[]; loadedAt: number }> = lruCache(50_000);

  constructor(
    private readonly store: AccessPolicyStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 403 unless a policy of the connection names the caller. Absent connections look the same (no enumeration). */
  async require(caller: Caller, providerId: string, connectionId: string): Promise<void> {
    const policies = await this.policies(providerId, connectionId);
    if (!policies.some((p) => policyMatches(caller, p))) {
      throw new ForbiddenError(`No access policy of connection '${connectionId}' grants the caller its tokens.`);
    }
  }

  forget(providerId: string, connectionId: string): void {
    this.cache.delete(`${providerId}/${connectionId}`);
  }

  private async policies(providerId: string, connectionId: string): Promise<PolicySubject[]> {
    const key = `${providerId}/${connectionId}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.loadedAt < this.ttlMs) return hit.policies;
    const page = await this.store.list(providerId, connectionId, MAX_POLICIES_PER_CONNECTION);
    const policies = page.items.map((r) => r.subject);
    if (this.ttlMs > 0) this.cache.set(key, { policies, loadedAt: this.now() });
    return policies;
  }
}
