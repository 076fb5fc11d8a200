import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import type { RefreshOutcome } from '../../../shared/lifecycle/lifecycleService';
import { callWithRetry } from '../common';
import { faultOf, MAX_RESUMES, NOTICE_MAX_RESUMES, REFRESH_RETRY, RESUME_AFTER_MS, resumeLater, type Fault, type Resumable } from '../retryPolicy';
import { CONSENT_COMPLETED, lifecycleEvaluate, lifecycleNotify, lifecycleRefresh, type LifecycleInput, type LifecycleNotice } from './names';

// connectionLifecycle: one eternal instance per generation of a connection (id
// `lifecycle:<provider>:<connection>:<generation>`, see LifecycleService.instanceId). Each cycle
// asks an activity what is due, acts (refresh ahead, warn, wait for consent) and continues as new,
// so its history stays one cycle long. Deterministic: time comes from `currentUtcDateTime`,
// everything else from activities.

/**
 * How long a lifecycle waits after a fault that retrying soon will not fix (a permanent one, or a
 * transient one that outlasted MAX_RESUMES) before it tries again. It never ends over a fault:
 * a connection whose lifecycle ended would be looked after by nobody.
 */
export const STALLED_RETRY_MS = 6 * 3600_000;

const stalled = (f: Fault) => `The connection's lifecycle keeps failing (${f.code}); it tries again in ${STALLED_RETRY_MS / 3600_000} hours.`;

export const connectionLifecycle: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<LifecycleInput>();
  const { providerId, connectionId, generation } = input;
  const resumes = input.resumes ?? 0;
  const warned = new Set(input.warned ?? []);
  const now = context.df.currentUtcDateTime;
  const notice = (type: LifecycleNotice['type'], detail?: string): LifecycleNotice => ({
    type,
    providerId,
    connectionId,
    generation,
    ...(detail === undefined ? {} : { detail }),
  });
  const next: LifecycleInput = { providerId, connectionId, generation };
  const after = (ms: number) => new Date(context.df.currentUtcDateTime.getTime() + ms);

  try {
    const e = yield* callWithRetry(context, lifecycleEvaluate, { providerId, connectionId, now: now.toISOString(), generation });

    for (const w of e.warnings) {
      const key = `${w.kind}:${w.endsAt}`;
      if (warned.has(key)) continue;
      const detail = `${w.kind === 'refreshTokenExpiring' ? 'The refresh token' : 'The client secret'} ends on ${new Date(w.endsAt).toISOString()}.`;
      yield* callWithRetry(context, lifecycleNotify, notice('connection.expiringSoon', detail));
      warned.add(key);
    }

    switch (e.plan.kind) {
      case 'stop':
        return 'stopped';
      case 'refresh': {
        let outcome: RefreshOutcome;
        try {
          outcome = yield* callWithRetry(context, lifecycleRefresh, { providerId, connectionId, knownVersion: e.tokenVersion, generation }, REFRESH_RETRY);
        } catch (err) {
          const fault = faultOf(err);
          yield* callWithRetry(context, lifecycleNotify, notice('connection.refreshFailed', fault.transient ? undefined : stalled(fault)));
          yield context.df.createTimer(after(fault.transient ? RESUME_AFTER_MS : STALLED_RETRY_MS));
          break;
        }
        if (outcome === 'gone') return 'stopped';
        if (outcome === 'ReauthorizationRequired') yield* callWithRetry(context, lifecycleNotify, notice('connection.reauthorizationRequired'));
        else if (outcome === 'ClientSecretInvalid') yield* callWithRetry(context, lifecycleNotify, notice('provider.clientSecretInvalid'));
        break;
      }
      case 'sleep': {
        // Woken by new tokens (consent, a PUT): the next cycle looks again. `connection.connected` is not ours to send.
        const timer = context.df.createTimer(new Date(e.plan.until));
        const woken = context.df.waitForExternalEvent(CONSENT_COMPLETED);
        if ((yield context.df.Task.any([timer, woken])) === woken) timer.cancel();
        break;
      }
      case 'awaitConsent': {
        const reminder = context.df.createTimer(new Date(now.getTime() + e.reminderMs));
        const consented = context.df.waitForExternalEvent(CONSENT_COMPLETED);
        if ((yield context.df.Task.any([reminder, consented])) === consented) {
          reminder.cancel();
        } else {
          yield* callWithRetry(context, lifecycleNotify, notice('connection.reauthorizationRequired', 'reminder'));
          next.reminders = (input.reminders ?? 0) + 1;
        }
        break;
      }
    }
  } catch (err) {
    // Storage, Key Vault or the instance itself unavailable beyond the retries: this cycle again
    // in a few minutes, keeping the warnings already sent. A fault that retrying will not fix, or
    // one that lasts too long, is published as connection.refreshFailed and tried again hours later.
    const fault = faultOf(err);
    const progress: LifecycleInput = { ...input, warned: [...warned] };
    if (fault.transient && resumes < MAX_RESUMES) {
      context.df.setCustomStatus({ resumes: resumes + 1, lastError: fault.code });
      yield context.df.createTimer(after(RESUME_AFTER_MS));
      context.df.continueAsNew({ ...progress, resumes: resumes + 1, lastError: fault.code } satisfies LifecycleInput);
      return undefined;
    }
    context.df.setCustomStatus({ resumes, lastError: fault.code, stalledUntil: after(STALLED_RETRY_MS).toISOString() });
    try {
      yield* callWithRetry(context, lifecycleNotify, notice('connection.refreshFailed', stalled(fault)));
    } catch {
      // Not sent: the next stall says it again.
    }
    yield context.df.createTimer(after(STALLED_RETRY_MS));
    context.df.continueAsNew({ ...progress, resumes: 0, lastError: fault.code } satisfies LifecycleInput);
    return undefined;
  }
  if (resumes > 0 || input.lastError !== undefined) context.df.setCustomStatus({ resumes: 0 });
  context.df.continueAsNew({ ...next, warned: [...warned] } satisfies LifecycleInput);
  return undefined;
};

/**
 * publishNotice: one notice, delivered by the notify activity outside the request that caused it.
 * Through an outage it resumes for about a day (counted in its input), then ends Failed.
 */
export const publishNotice: OrchestrationHandler = function* (context: OrchestrationContext) {
  const { resumes = 0, lastError: _lastError, ...notice } = context.df.getInput<LifecycleNotice & Resumable>();
  try {
    yield* callWithRetry(context, lifecycleNotify, notice);
  } catch (err) {
    return yield* resumeLater(context, err, notice, resumes, { maxResumes: NOTICE_MAX_RESUMES });
  }
  return undefined;
};
