import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import type { Evaluation, RefreshOutcome } from '../../shared/lifecycle/lifecycleService';
import { CONSENT_COMPLETED, type LifecycleInput } from './lifecycle';
import { callWithRetry, REFRESH_RETRY, RESUME_AFTER_MS, resumeLater } from './retryPolicy';

// connectionLifecycle: one eternal instance per connection (id `lifecycle:<provider>:<connection>`).
// Each cycle asks an activity what is due, acts (refresh ahead, warn, wait for consent) and
// continues as new, so its history stays one cycle long. Deterministic: time comes from
// `currentUtcDateTime`, everything else from activities.

export type LifecycleNotice = {
  type: 'connection.connected' | 'connection.deleted' | 'connection.reauthorizationRequired' | 'connection.refreshFailed' | 'connection.expiringSoon' | 'provider.clientSecretInvalid';
  providerId: string;
  connectionId: string;
  detail?: string;
  /** The connection generation the notice is about (see shared/lifecycle/lifecycleService.ts). */
  generation?: string;
};

export const connectionLifecycle: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<LifecycleInput>();
  const { providerId, connectionId } = input;
  const warned = new Set(input.warned ?? []);
  const now = context.df.currentUtcDateTime;
  let generation = input.generation;
  let announced = false;
  const notice = (type: LifecycleNotice['type'], detail?: string): LifecycleNotice => ({
    type,
    providerId,
    connectionId,
    ...(detail === undefined ? {} : { detail }),
    ...(generation === undefined ? {} : { generation }),
  });
  const next: LifecycleInput = { providerId, connectionId };

  try {
    if (input.announce) {
      yield callWithRetry(context, 'lifecycleNotify', notice('connection.connected'));
      announced = true;
    }
    const e = (yield callWithRetry(context, 'lifecycleEvaluate', { providerId, connectionId, now: now.toISOString(), ...(generation === undefined ? {} : { generation }) })) as Evaluation;
    // The first evaluation pins the generation this lifecycle serves.
    generation ??= e.generation;

    for (const w of e.warnings) {
      const key = `${w.kind}:${w.endsAt}`;
      if (warned.has(key)) continue;
      const detail = `${w.kind === 'refreshTokenExpiring' ? 'The refresh token' : 'The client secret'} ends on ${new Date(w.endsAt).toISOString()}.`;
      yield callWithRetry(context, 'lifecycleNotify', notice('connection.expiringSoon', detail));
      warned.add(key);
    }

    switch (e.plan.kind) {
      case 'stop':
        return 'stopped';
      case 'refresh': {
        let outcome: RefreshOutcome;
        try {
          outcome = (yield callWithRetry(context, 'lifecycleRefresh', { providerId, connectionId, knownVersion: e.tokenVersion, ...(generation === undefined ? {} : { generation }) }, REFRESH_RETRY)) as RefreshOutcome;
        } catch {
          yield callWithRetry(context, 'lifecycleNotify', notice('connection.refreshFailed'));
          yield context.df.createTimer(new Date(now.getTime() + RESUME_AFTER_MS));
          break;
        }
        if (outcome === 'gone') return 'stopped';
        if (outcome === 'ReauthorizationRequired') yield callWithRetry(context, 'lifecycleNotify', notice('connection.reauthorizationRequired'));
        else if (outcome === 'ClientSecretInvalid') yield callWithRetry(context, 'lifecycleNotify', notice('provider.clientSecretInvalid'));
        break;
      }
      case 'sleep': {
        const timer = context.df.createTimer(new Date(e.plan.until));
        const woken = context.df.waitForExternalEvent(CONSENT_COMPLETED);
        const first = yield context.df.Task.any([timer, woken]);
        if (first === woken) {
          timer.cancel();
          next.announce = true;
        }
        break;
      }
      case 'awaitConsent': {
        const reminder = context.df.createTimer(new Date(now.getTime() + e.reminderMs));
        const consented = context.df.waitForExternalEvent(CONSENT_COMPLETED);
        const first = yield context.df.Task.any([reminder, consented]);
        if (first === consented) {
          reminder.cancel();
          next.announce = true;
        } else {
          yield callWithRetry(context, 'lifecycleNotify', notice('connection.reauthorizationRequired', 'reminder'));
          next.reminders = (input.reminders ?? 0) + 1;
        }
        break;
      }
    }
  } catch {
    // Storage, Key Vault or the instance itself unavailable beyond the retries: this cycle again
    // later, keeping what it got done (an announcement made, warnings sent).
    const progress: LifecycleInput = { ...input, warned: [...warned], ...(generation === undefined ? {} : { generation }) };
    if (announced) delete progress.announce;
    return yield* resumeLater(context, progress);
  }
  context.df.continueAsNew({ ...next, warned: [...warned], ...(generation === undefined ? {} : { generation }) } satisfies LifecycleInput);
  return undefined;
};

/** publishNotice: one notice, delivered by the notify activity outside the request that caused it. */
export const publishNotice: OrchestrationHandler = function* (context: OrchestrationContext) {
  yield callWithRetry(context, 'lifecycleNotify', context.df.getInput<LifecycleNotice>());
  return undefined;
};
