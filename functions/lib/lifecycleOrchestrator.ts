import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import type { Evaluation, RefreshOutcome } from '../../shared/lifecycle/lifecycleService';
import { CONSENT_COMPLETED, type LifecycleInput } from './lifecycle';

// connectionLifecycle: one eternal instance per connection (id `lifecycle:<provider>:<connection>`).
// Each cycle asks an activity what is due, acts (refresh ahead, warn, wait for consent) and
// continues as new, so its history stays one cycle long. Deterministic: time comes from
// `currentUtcDateTime`, everything else from activities.

export type LifecycleNotice = {
  type: 'connection.connected' | 'connection.deleted' | 'connection.reauthorizationRequired' | 'connection.refreshFailed' | 'connection.expiringSoon' | 'provider.clientSecretInvalid';
  providerId: string;
  connectionId: string;
  detail?: string;
};

const RETRY_AFTER_FAILURE_MS = 5 * 60_000;

const refreshRetries = (): df.RetryOptions => {
  const r = new df.RetryOptions(5_000, 4);
  r.backoffCoefficient = 2;
  r.maxRetryIntervalInMilliseconds = 60_000;
  return r;
};

export const connectionLifecycle: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<LifecycleInput>();
  const { providerId, connectionId } = input;
  const warned = new Set(input.warned ?? []);
  const now = context.df.currentUtcDateTime;
  if (input.announce) yield context.df.callActivity('lifecycleNotify', { type: 'connection.connected', providerId, connectionId } satisfies LifecycleNotice);
  const e = (yield context.df.callActivity('lifecycleEvaluate', { providerId, connectionId, now: now.toISOString() })) as Evaluation;

  for (const w of e.warnings) {
    const key = `${w.kind}:${w.endsAt}`;
    if (warned.has(key)) continue;
    warned.add(key);
    const detail = `${w.kind === 'refreshTokenExpiring' ? 'The refresh token' : 'The client secret'} ends on ${new Date(w.endsAt).toISOString()}.`;
    yield context.df.callActivity('lifecycleNotify', { type: 'connection.expiringSoon', providerId, connectionId, detail } satisfies LifecycleNotice);
  }
  const next: LifecycleInput = { providerId, connectionId, warned: [...warned] };

  switch (e.plan.kind) {
    case 'stop':
      return 'stopped';
    case 'refresh': {
      let outcome: RefreshOutcome;
      try {
        outcome = (yield context.df.callActivityWithRetry('lifecycleRefresh', refreshRetries(), { providerId, connectionId, knownVersion: e.tokenVersion })) as RefreshOutcome;
      } catch {
        yield context.df.callActivity('lifecycleNotify', { type: 'connection.refreshFailed', providerId, connectionId } satisfies LifecycleNotice);
        yield context.df.createTimer(new Date(now.getTime() + RETRY_AFTER_FAILURE_MS));
        break;
      }
      if (outcome === 'gone') return 'stopped';
      if (outcome === 'ReauthorizationRequired') {
        yield context.df.callActivity('lifecycleNotify', { type: 'connection.reauthorizationRequired', providerId, connectionId } satisfies LifecycleNotice);
      } else if (outcome === 'ClientSecretInvalid') {
        yield context.df.callActivity('lifecycleNotify', { type: 'provider.clientSecretInvalid', providerId, connectionId } satisfies LifecycleNotice);
      }
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
        yield context.df.callActivity('lifecycleNotify', { type: 'connection.reauthorizationRequired', providerId, connectionId, detail: 'reminder' } satisfies LifecycleNotice);
        next.reminders = (input.reminders ?? 0) + 1;
      }
      break;
    }
  }
  context.df.continueAsNew(next);
  return undefined;
};

/** publishNotice: one notice, delivered by the notify activity outside the request that caused it. */
export const publishNotice: OrchestrationHandler = function* (context: OrchestrationContext) {
  yield context.df.callActivity('lifecycleNotify', context.df.getInput<LifecycleNotice>());
  return undefined;
};
