import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { callWithRetry, resumeLater } from './retryPolicy';

// providerCascade: a provider with many connections is deleted in the background, a page of
// connections per activity (policies first, lifecycles terminated), then the provider itself once
// none is left. Activities are idempotent, so a restart half-way just carries on, and so does an
// outage that outlasts the retries: the cascade waits, then continues as new with its count.

export interface CascadeInput {
  providerId: string;
  deleted?: number;
}

const PAGES_PER_EXECUTION = 20;

export const deleteProviderCascade: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { providerId, deleted: before = 0 } = context.df.getInput<CascadeInput>();
  let deleted = before;
  try {
    for (let page = 0; page < PAGES_PER_EXECUTION; page++) {
      const ids = (yield callWithRetry(context, 'cascadeDeletePage', providerId)) as string[];
      if (ids.length === 0) {
        if ((yield callWithRetry(context, 'cascadeFinish', providerId)) as boolean) return { providerId, deletedConnections: deleted };
        continue; // a connection appeared meanwhile: another page
      }
      deleted += ids.length;
      context.df.setCustomStatus({ deletedConnections: deleted });
    }
  } catch {
    return yield* resumeLater(context, { providerId, deleted } satisfies CascadeInput);
  }
  context.df.continueAsNew({ providerId, deleted } satisfies CascadeInput);
  return undefined;
};
