import type { Caller } from '../identity/caller';
import type { SelfServiceService } from '../management/selfService';
import type { AccessPolicyStore } from '../store/accessPolicies';
import type { ConnectionStore } from '../store/connections';
import { MAX_POLICIES_PER_CONNECTION } from '../store/accessPolicies';
import { MAX_PROVIDERS, type ProviderStore } from '../store/providers';
import { policyMatches } from '../tokens/accessCheck';

// What a caller of the MCP server can use (docs/mcp.md, "list_connections"). Access policies are
// stored per connection and nothing indexes them by subject, so the connections granted to the
// caller are found by a bounded scan: at most SCAN_LIMIT connections (in provider and id order)
// have their policies read, and the answer says when the scan stopped early. A person's own
// self-service connections are found directly (their id derives from the person).

/** How many connections one listing examines at most (one policy read each). */
export const SCAN_LIMIT = 200;

export interface UsableConnection {
  providerId: string;
  /** Absent: a self-service provider where the person has no connection yet (`connect` makes one). */
  connectionId?: string;
  /** The connection's status, or `NotCreated`. */
  status: string;
  /** The person's own self-service connection (or provider offering one). */
  selfService: boolean;
  providerDisplayName?: string;
  displayName?: string;
}

export interface Usable {
  connections: UsableConnection[];
  /** The scan stopped at SCAN_LIMIT connections: others may be granted too. */
  truncated: boolean;
}

export class McpDirectory {
  constructor(
    private readonly providers: ProviderStore,
    private readonly connections: ConnectionStore,
    private readonly policies: AccessPolicyStore,
    private readonly selfService: SelfServiceService,
  ) {}

  async usable(caller: Caller): Promise<Usable> {
    const out = new Map<string, UsableConnection>();
    if (!caller.appOnly) {
      for (const p of await this.selfService.listProviders(caller)) {
        const c = p.properties.connection;
        out.set(`${p.name}/${c?.id ?? ''}`, {
          providerId: p.name,
          ...(c ? { connectionId: c.id } : {}),
          status: c?.status ?? 'NotCreated',
          selfService: true,
          ...(p.properties.displayName === undefined ? {} : { providerDisplayName: p.properties.displayName }),
        });
      }
    }
    let examined = 0;
    let truncated = false;
    const providers = (await this.providers.list(MAX_PROVIDERS)).items;
    scan: for (const p of providers) {
      let skipToken: string | undefined;
      do {
        const page = await this.connections.list(p.id, 100, skipToken);
        for (const c of page.items) {
          if (examined >= SCAN_LIMIT) {
            truncated = true;
            break scan;
          }
          examined++;
          const key = `${p.id}/${c.id}`;
          if (out.has(key)) continue;
          // Read verified, as the token service reads them: a policy changed outside credman is skipped.
          const granted = (await this.policies.list(p.id, c.id, MAX_POLICIES_PER_CONNECTION, undefined, c.createdOn)).items.some((a) => policyMatches(caller, a.subject));
          if (granted) {
            out.set(key, {
              providerId: p.id,
              connectionId: c.id,
              status: c.status,
              selfService: false,
              ...(p.displayName === undefined ? {} : { providerDisplayName: p.displayName }),
              ...(c.displayName === undefined ? {} : { displayName: c.displayName }),
            });
          }
        }
        skipToken = page.skipToken;
      } while (skipToken);
    }
    return { connections: [...out.values()], truncated };
  }
}
