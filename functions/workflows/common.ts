import type { FunctionInput, HttpRequest, InvocationContext } from '@azure/functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import * as df from '../lib/durable';
import { DEPENDENCY_RETRY, markFaults, retryOptions, type RetryPolicy } from './retryPolicy';

// What every workflow (functions/workflows/*/) shares: typed activity declarations, the durable
// client input, which runtime statuses mean "still running", and starting an admin operation.

/** The durable client an HTTP or timer function declares (`extraInputs: [durableClientInput]`) to reach orchestrations. */
export const durableClientInput = df.input.durableClient();

// ---- activities: one declaration, used by the registration and by every call

/** An activity's function name with its input and output types (`types` is never set: it only carries them). */
export interface Activity<I, O> {
  readonly name: string;
  readonly types?: { input: I; output: O };
}

/** Declares an activity; the name is its function name in the task hub, so it never changes. */
export const activity = <I, O>(name: string): Activity<I, O> => ({ name });

/** Registers an activity's handler, its failures marked transient or permanent for the fault policy (functions/workflows/retryPolicy.ts). */
export function registerActivity<I, O>(a: Activity<I, O>, handler: (input: I, context: InvocationContext) => Promise<O>, options: { extraInputs?: FunctionInput[] } = {}): void {
  df.app.activity(a.name, { ...options, handler: markFaults(handler) });
}

/**
 * Calls an activity with a retry policy (never a plain callActivity in a long-lived orchestration),
 * as `yield* callWithRetry(…)`, which gives its output typed.
 */
export function* callWithRetry<I, O>(context: OrchestrationContext, a: Activity<I, O>, input: NoInfer<I>, policy: RetryPolicy = DEPENDENCY_RETRY): Generator<Task, O, unknown> {
  return (yield context.df.callActivityWithRetry(a.name, retryOptions(policy), input)) as O;
}

// ---- runtime statuses

/**
 * Still running: a start with its id is refused, an event reaches it (queued while suspended) and
 * a purge does not touch it. The Durable extension's IsOrchestrationRunning and its dedupe
 * statuses for a start (Suspended included), as the local stand-in (local/durable) has them.
 */
const ACTIVE: ReadonlySet<string> = new Set([
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
  df.OrchestrationRuntimeStatus.ContinuedAsNew,
  df.OrchestrationRuntimeStatus.Suspended,
]);

export const isActive = (runtimeStatus: string): boolean => ACTIVE.has(runtimeStatus);

/** Every status of an instance that has ended, for a purge: the ones not active. */
export const FINISHED_STATUSES: readonly df.OrchestrationRuntimeStatus[] = Object.values(df.OrchestrationRuntimeStatus).filter((s) => !isActive(s));

// ---- admin operations
// Long-running admin operations (a provider's cascade delete, key rotation) run as orchestrations
// with a known instance id, so asking twice joins the run already going; `GET /operations/{id}`
// reports on them.

/** Starts the orchestration unless an instance with that id is already running; returns the id. */
export async function startOperation(context: InvocationContext, name: string, instanceId: string, input: unknown): Promise<string> {
  const client = df.getClient(context);
  let running: boolean;
  try {
    running = isActive((await client.getStatus(instanceId)).runtimeStatus);
  } catch {
    running = false; // never started, or purged
  }
  if (!running) await client.startNew(name, { instanceId, input });
  return instanceId;
}

/** The status URL of an operation, on this app's own API (admin-authorised, unlike the extension's). */
export function operationUrl(request: HttpRequest, instanceId: string): string {
  return new URL(`/api/operations/${encodeURIComponent(instanceId)}`, request.url).toString();
}
