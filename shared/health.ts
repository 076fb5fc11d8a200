import type { KeyWrapper } from './crypto/keyWrapper';
import { COUNTER_ROW } from './store/countedPartition';
import { isNotFound } from './store/storageErrors';
import type { Tables } from './store/tables';

export interface HealthReport {
  status: 'Healthy' | 'Unhealthy';
  checks: { storage: 'Healthy' | 'Unhealthy'; keyVault: 'Healthy' | 'Unhealthy' };
}

const TIMEOUT_MS = 3000;

/** Anonymous health: says which dependency fails, never why (that would help an attacker). */
export class Health {
  constructor(
    private readonly tables: Tables,
    private readonly wrapper: KeyWrapper,
  ) {}

  async check(): Promise<HealthReport> {
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
