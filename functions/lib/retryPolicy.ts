import * as df from './durable';
import type { OrchestrationContext, Task } from 'durable-functions';

// How orchestrations ride out transient faults, in one place. Every activity call goes through
// `callWithRetry`: storage answering 503, Key Vault answering 429 or an instance failing its cold
// start is retried on durable timers. When the retries are spent, `resumeLater` waits on a durable
// timer and continues as new from the progress made, so an eternal or long orchestration never
// ends Failed over an outage. Deterministic: the only time read is `currentUtcDateTime`.

export interface RetryPolicy {
  firstRetryIntervalMs: number;
  /** Counts the first attempt. */
  maxNumberOfAttempts: number;
  backoffCoefficient: number;
  maxRetryIntervalMs: number;
}

/** Storage or Key Vault unavailable, throttled, or an instance that could not start: 5 attempts over 75 s. */
export const DEPENDENCY_RETRY: RetryPolicy = { firstRetryIntervalMs: 5_000, maxNumberOfAttempts: 5, backoffCoefficient: 2, maxRetryIntervalMs: 60_000 };

/** A refresh ahead: the identity provider's own retries run inside each attempt. */
export const REFRESH_RETRY: RetryPolicy = { firstRetryIntervalMs: 5_000, maxNumberOfAttempts: 4, backoffCoefficient: 2, maxRetryIntervalMs: 60_000 };

/** After the retries are spent: the wait before the orchestration continues as new and tries again. */
export const RESUME_AFTER_MS = 5 * 60_000;

export function retryOptions(policy: RetryPolicy): df.RetryOptions {
  const options = new df.RetryOptions(policy.firstRetryIntervalMs, policy.maxNumberOfAttempts);
  options.backoffCoefficient = policy.backoffCoefficient;
  options.maxRetryIntervalInMilliseconds = policy.maxRetryIntervalMs;
  return options;
}

/** An activity call with a retry policy (never a plain callActivity in a long-lived orchestration). */
export function callWithRetry(context: OrchestrationContext, name: string, input: unknown, policy: RetryPolicy = DEPENDENCY_RETRY): Task {
  return context.df.callActivityWithRetry(name, retryOptions(policy), input);
}

/** Waits out a fault that outlasted the retries, then continues as new from `progress`. */
export function* resumeLater(context: OrchestrationContext, progress: unknown): Generator<Task, undefined, unknown> {
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + RESUME_AFTER_MS));
  context.df.continueAsNew(progress);
  return undefined;
}
