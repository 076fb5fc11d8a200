import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { callWithRetry } from '../common';
import { MAX_RESUMES, resumeLater } from '../retryPolicy';
import { cascadeDeletePage, cascadeFinish, type CascadeInput } from './names';

// providerCascade: a provider with many connections is deleted in the background, a page of
// connections per activity (policies first, lifecycles terminated), then the provider itself once
// none is left. Activities are idempotent, so a restart half-way just carries on, and so does an
// outage that outlasts the retries: the cascade waits, then continues as new with its count (up
// to MAX_RESUMES times in a row without a page done). A permanent fault ends it Failed, which
// GET /operations/{id} shows; DELETE of the provider again starts it over.

const PAGES_PER_EXECUTION = 20;

export const deleteProviderCascade: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { providerId, deleted: before = 0, resumes = 0 } = context.df.getInput<CascadeInput>();
  let deleted = before;
  let progressed = false;
  try {
    for (let page = 0; page < PAGES_PER_EXECUTION; page++) {
      const ids = yield* callWithRetry(context, cascadeDeletePage, providerId);
      if (ids.length === 0) {
        if (yield* callWithRetry(context, cascadeFinish, providerId)) return { providerId, deletedConnections: deleted };
        continue; // a connection appeared meanwhile: another page
      }
      deleted += ids.length;
      progressed = true;
      context.df.setCustomStatus({ deletedConnections: deleted });
    }
  } catch (err) {
    return yield* resumeLater(context, err, { providerId, deleted } satisfies CascadeInput, progressed ? 0 : resumes, {
      maxResumes: MAX_RESUMES,
      status: { deletedConnections: deleted },
    });
  }
  context.df.continueAsNew({ providerId, deleted } satisfies CascadeInput);
  return undefined;
};
