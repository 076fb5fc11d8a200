import type { KeyWrapper } from './crypto/keyWrapper';
import { COUNTER_ROW } from './store/countedPartition';
import { isNotFound } from './store/storageErrors';
import type { Tables } from './store/tables';

export interface HealthReport {
  status: 'Healthy' | 'Unhealthy';
  checks: { storage: 'Healthy' | 'Unhealthy'; keyVault: 'Healthy' | 'Unhealthy' };
}

const TIMEOUT_MS = 3000;
/**
 * How long a report is reused. /health is anonymous and each probe costs a Key Vault call: uncached,
 * anyone could spend the vault's request quota that token reads need. Concurrent callers share one probe.
 */
export const HEALTH_CACHE_MS = 5000;

/** Anonymous health: says which dependency fails, never why (that would help an attacker). */
export class Health {
  private last?: { at: number; report: Promise<HealthReport> };

  constructor(
    private readonly tables: Tables,
    private readonly wrapper: KeyWrapper,
  ) {}

  check(): Promise<HealthReport> {
    const now = Date.now();
    if (this.last && now - this.last.at < HEALTH_CACHE_MS) return this.last.report;
    const report = this.probe();
    this.last = { at: now, report };
    return report;
  }

  private async probe(): Promise<HealthReport> {
    const [storage, keyVault] = await Promise.all([
      probe(async () => {
        try {
          await this.tables.providers.getEntity('providers', COUNTER_ROW, { abortSignal: AbortSignal.timeout(TIMEOUT_MS) });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }),
      probe(() => this.wrapper.check()),
    ]);
    return { status: storage === 'Healthy' && keyVault === 'Healthy' ? 'Healthy' : 'Unhealthy', checks: { storage, keyVault } };
  }
}

async function probe(fn: () => Promise<void>): Promise<'Healthy' | 'Unhealthy'> {
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), TIMEOUT_MS).unref())]);
    return 'Healthy';
  } catch {
    return 'Unhealthy';
  }
}
