import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';

// providerCascade: a provider with many connections is deleted in the background, a page of
// connections per activity (policies first, lifecycles terminated), then the provider itself once
// none is left. Activities are idempotent, so a restart half-way just carries on.

export interface CascadeInput {
  providerId: string;
  deleted?: number;
}

const PAGES_PER_EXECUTION = 20;

const retries = (): df.RetryOptions => {
  const r = new df.RetryOptions(2_000, 5);
  r.backoffCoefficient = 2;
  return r;
};

export const deleteProviderCascade: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { providerId, deleted: before = 0 } = context.df.getInput<CascadeInput>();
  let deleted = before;
  for (let page = 0; page < PAGES_PER_EXECUTION; page++) {
    const ids = (yield context.df.callActivityWithRetry('cascadeDeletePage', retries(), providerId)) as string[];
    if (ids.length === 0) {
      if ((yield context.df.callActivityWithRetry('cascadeFinish', retries(), providerId)) as boolean) return { providerId, deletedConnections: deleted };
      continue; // a connection appeared meanwhile: another page
    }
    deleted += ids.length;
    context.df.setCustomStatus({ deletedConnections: deleted });
  }
  context.df.continueAsNew({ providerId, deleted } satisfies CascadeInput);
  return undefined;
};
