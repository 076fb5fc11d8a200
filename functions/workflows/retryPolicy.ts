import * as df from '../lib/durable';
import type { OrchestrationContext, Task } from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { CredmanError } from '../../shared/errors';

// How orchestrations ride out faults, in one place. Every activity call goes through
// `callWithRetry` (functions/workflows/common.ts) with one of these policies: storage answering
// 503, Key Vault answering 429 or an instance failing its cold start is retried on durable timers.
// When the retries are spent, `resumeLater` looks at what failed: a transient fault waits on a
// durable timer and continues as new from the progress made, a bounded number of times; a
// permanent one (a secret that does not decrypt, a bug) ends the orchestration Failed at once,
// naming it, since waiting would only hide it. The fault travels in the activity's error message
// (the only part of it that reaches the orchestrator), put there by `markFaults` and read by
// `faultOf`. Deterministic: the only time read is `currentUtcDateTime`.

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

/** After the retries are spent on a transient fault: the wait before the orchestration continues as new and tries again. */
export const RESUME_AFTER_MS = 5 * 60_000;

/** Resumes in a row before a cascade or a key rotation gives up (about 75 minutes of outage, retries included). */
export const MAX_RESUMES = 12;

/** Resumes of one notice before it gives up: a day's worth. */
export const NOTICE_MAX_RESUMES = Math.ceil((24 * 3600_000) / RESUME_AFTER_MS);

/** The durable-functions form of a policy. */
export function retryOptions(policy: RetryPolicy): df.RetryOptions {
  const options = new df.RetryOptions(policy.firstRetryIntervalMs, policy.maxNumberOfAttempts);
  options.backoffCoefficient = policy.backoffCoefficient;
  options.maxRetryIntervalInMilliseconds = policy.maxRetryIntervalMs;
  return options;
}

// ---- faults

/** What failed: a stable code, and whether trying again later may help. */
export interface Fault {
  code: string;
  transient: boolean;
  /** The activity's message (never a secret: no message in credman carries one). */
  message: string;
}

const TRANSIENT_CODES = new Set(['DependencyUnavailable', 'TooManyRequests']);
/** 502 included: an identity provider that is down answers through credman as IdentityProviderError (502). */
const TRANSIENT_STATUS = new Set([408, 429, 502, 503, 504]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ERR_CANCELED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);
const MARK = /\[fault ([A-Za-z0-9_.-]+) (transient|permanent)\] ?([^\n]*)/;
/** The host's own limit on an invocation (FunctionTimeoutException), which no activity code sees. */
const HOST_TIMEOUT = /Timeout value of \S+ (?:was )?exceeded by function/;

/** The fault of an error thrown in an activity. */
function classify(err: unknown): Omit<Fault, 'message'> {
  if (err instanceof CredmanError) return { code: err.code, transient: TRANSIENT_CODES.has(err.code) || TRANSIENT_STATUS.has(err.status) };
  const e = err as { name?: unknown; code?: unknown; statusCode?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if ((code && TIMEOUT_CODES.has(code)) || e?.name === 'TimeoutError' || e?.name === 'AbortError') return { code: 'Timeout', transient: true };
  if (code && NETWORK_CODES.has(code)) return { code: 'ConnectionFailed', transient: true };
  if (typeof e?.statusCode === 'number') return { code: code ?? `Status${e.statusCode}`, transient: TRANSIENT_STATUS.has(e.statusCode) };
  return { code: typeof e?.name === 'string' && /^[A-Za-z0-9_.-]+$/.test(e.name) ? e.name : 'Error', transient: false };
}

/**
 * An activity's handler whose failures carry their fault in the message, as
 * `[fault <code> transient|permanent] <message>`, for `faultOf` in the orchestrator.
 */
export function markFaults<T, R>(handler: (input: T, context: InvocationContext) => Promise<R>): (input: T, context: InvocationContext) => Promise<R> {
  return async (input, context) => {
    try {
      return await handler(input, context);
    } catch (err) {
      const { code, transient } = classify(err);
      const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
      throw new Error(`[fault ${code} ${transient ? 'transient' : 'permanent'}] ${message}`, { cause: err });
    }
  };
}

/** The fault of a failed activity call (or of anything else thrown in an orchestrator, which is permanent). */
export function faultOf(err: unknown): Fault {
  const text = err instanceof Error ? err.message : String(err);
  const marked = MARK.exec(text);
  if (marked) return { code: marked[1], transient: marked[2] === 'transient', message: marked[3].trim() };
  if (HOST_TIMEOUT.test(text)) return { code: 'FunctionTimeout', transient: true, message: 'The activity ran out of time.' };
  return { code: 'Unknown', transient: false, message: text.split('\n')[0].slice(0, 300) };
}

/** What a resumable orchestration keeps in its input across resumes. */
export interface Resumable {
  /** Resumes in a row so far. */
  resumes?: number;
  /** The code of the fault that caused the last one. */
  lastError?: string;
}

/**
 * After the retries are spent. A transient fault with resumes left waits RESUME_AFTER_MS on a
 * durable timer and continues as new from `progress`, its resume count and the fault's code in
 * the input and in the custom status (`status`, what the orchestration reports, beside them).
 * A permanent fault, or one that outlasted `maxResumes`, ends the orchestration Failed, naming it.
 */
export function* resumeLater(context: OrchestrationContext, err: unknown, progress: object, resumes: number, options: { maxResumes: number; status?: object }): Generator<Task, undefined, unknown> {
  const fault = faultOf(err);
  const status = { ...options.status, resumes, lastError: fault.code };
  if (!fault.transient) {
    context.df.setCustomStatus(status);
    throw new Error(`${fault.code} is not transient, so not retried later: ${fault.message}`);
  }
  if (resumes >= options.maxResumes) {
    context.df.setCustomStatus(status);
    throw new Error(`${fault.code} outlasted ${resumes} resumes: ${fault.message}`);
  }
  context.df.setCustomStatus({ ...status, resumes: resumes + 1 });
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + RESUME_AFTER_MS));
  context.df.continueAsNew({ ...progress, resumes: resumes + 1, lastError: fault.code } satisfies Resumable);
  return undefined;
}
