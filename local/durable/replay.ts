import { EventType, type HistoryEvent } from './history';

// The extension's side of an episode: given the actions the orchestrator returned (the whole
// execution's actions, replay schema V3: one flat list, compound WhenAll/WhenAny nested) and the
// history, work out which tasks and timers are new. This is what OutOfProcOrchestrationShim does on
// top of DurableTask.Core: it invokes each action in order and awaits it before the next
// (ProcessAsyncActionsV2), every call taking the next sequence number, while DurableTask.Core
// replays the history event by event. Retries (RetryInterceptor) and long timers (the extension's
// CreateTimer) schedule further timers and tasks as failures and firings are replayed. The
// numbers assigned here must be the ones durable-functions' TaskOrchestrationExecutor assigns,
// because TaskCompleted/TaskFailed/TimerFired events find their task by them.

export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  ScheduledSignalEntity: 10,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;
const ACTION_NAMES = Object.fromEntries(Object.entries(ActionType).map(([k, v]) => [v, k])) as Record<number, string>;

export interface RetryOptionsWire {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** An action as the orchestrator's JSON answer carries it. */
export interface ActionWire {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptionsWire;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: ActionWire[];
  [field: string]: unknown;
}

/** What the Azure Storage provider reports to the orchestrator, and what its timers support. */
export const MAXIMUM_SHORT_TIMER_MS = 6 * 24 * 3600 * 1000;
export const LONG_RUNNING_TIMER_INTERVAL_MS = 3 * 24 * 3600 * 1000;
/** The extension's RetryOptions default MaxRetryInterval. */
const DEFAULT_MAX_RETRY_INTERVAL_MS = 6 * 24 * 3600 * 1000;

export type Decision = { kind: 'task'; id: number; name: string; input: string | null } | { kind: 'timer'; id: number; fireAt: string };

export interface ReplayResult {
  /** Tasks and timers scheduled by this episode (not yet in the history), by sequence number. */
  decisions: Decision[];
  /** Set when the orchestrator called continueAsNew: the new execution's input (JSON text). */
  continueAsNew?: { input: string | null };
  /** Set when the replay itself fails the orchestration (non-determinism, an unknown activity, an unsupported API). */
  error?: string;
  /** Actions the replay never reached (the orchestrator and the driver disagree; logged). */
  unreached: number;
}

export interface ReplayOptions {
  /** The registered name of an activity (names match case-insensitively, as FunctionName does), or undefined. */
  resolveActivity(name: string): string | undefined;
  knownActivities(): string[];
}

/**
 * A value as the orchestrator hands it over, as JSON text. durable-functions JSON-encodes string
 * inputs itself (Utils.processInput) and sends other values as JSON values.
 */
export function actionPayload(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  return typeof input === 'string' ? input : JSON.stringify(input);
}

class ReplayFailure extends Error {}

/** A DurableTask.Core task: completes once, successfully or not; continuations run at once. */
class Pending {
  done = false;
  ok = false;
  private readonly continuations: Array<(ok: boolean) => void> = [];
  then(k: (ok: boolean) => void): void {
    if (this.done) k(this.ok);
    else this.continuations.push(k);
  }
  settle(ok: boolean): void {
    if (this.done) return;
    this.done = true;
    this.ok = ok;
    for (const k of this.continuations.splice(0)) k(ok);
  }
}

export function replay(actions: ActionWire[], history: HistoryEvent[], options: ReplayOptions): ReplayResult {
  return new Replayer(actions, options).run(history);
}

class Replayer {
  private nextId = 0;
  private now = 0;
  private index = 0;
  private readonly open = new Map<number, Pending>();
  private readonly created = new Map<number, Decision>();
  private readonly waiters = new Map<string, Pending[]>();
  private readonly buffered = new Map<string, number>();
  private continueAsNew?: { input: string | null };

  constructor(
    private readonly actions: ActionWire[],
    private readonly options: ReplayOptions,
  ) {}

  run(history: HistoryEvent[]): ReplayResult {
    try {
      for (const e of history) {
        switch (e.EventType) {
          case EventType.OrchestratorStarted:
            this.now = Date.parse(e.Timestamp);
            break;
          case EventType.ExecutionStarted:
            this.advance();
            break;
          case EventType.TaskScheduled:
            this.recorded(e, 'task');
            break;
          case EventType.TimerCreated:
            this.recorded(e, 'timer');
            break;
          case EventType.TaskCompleted:
            this.open.get(e.TaskScheduledId as number)?.settle(true);
            break;
          case EventType.TaskFailed:
            this.open.get(e.TaskScheduledId as number)?.settle(false);
            break;
          case EventType.TimerFired:
            this.open.get(e.TimerId as number)?.settle(true);
            break;
          case EventType.EventRaised:
            this.raise(String(e.Name));
            break;
        }
      }
    } catch (err) {
      if (!(err instanceof ReplayFailure)) throw err;
      return { decisions: [], error: err.message, unreached: 0 };
    }
    return {
      decisions: [...this.created.values()].sort((a, b) => a.id - b.id),
      ...(this.continueAsNew ? { continueAsNew: this.continueAsNew } : {}),
      unreached: this.actions.length - this.index,
    };
  }

  /** ProcessAsyncActionsV2: invoke the next action, await it, repeat. */
  private advance(): void {
    while (this.index < this.actions.length) {
      const task = this.invoke(this.actions[this.index++]);
      if (!task.done) {
        task.then(() => this.advance());
        return;
      }
    }
  }

  private invoke(action: ActionWire): Pending {
    switch (action.actionType) {
      case ActionType.CallActivity:
        return this.scheduleTask(this.activityName(action), actionPayload(action.input));
      case ActionType.CallActivityWithRetry:
        return this.withRetry(this.activityName(action), actionPayload(action.input), action.retryOptions);
      case ActionType.CreateTimer:
        return this.timer(Date.parse(String(action.fireAt)), Boolean(action.isCanceled));
      case ActionType.WaitForExternalEvent:
        return this.waitForEvent(String(action.externalEventName));
      case ActionType.ContinueAsNew: {
        this.continueAsNew = { input: actionPayload(action.input) };
        const done = new Pending();
        done.settle(true);
        return done;
      }
      case ActionType.WhenAll:
      case ActionType.WhenAny: {
        const children = (action.compoundActions ?? []).map((a) => this.invoke(a));
        const all = action.actionType === ActionType.WhenAll;
        const task = new Pending();
        let left = children.length;
        if (left === 0) task.settle(true);
        for (const child of children) {
          child.then(() => {
            left--;
            if (!all || left === 0) task.settle(true);
          });
        }
        return task;
      }
      default:
        throw new ReplayFailure(`${ACTION_NAMES[action.actionType] ?? `Action type ${action.actionType}`} is not supported by the local durable driver (see docs/local-host.md, "Durable functions").`);
    }
  }

  private activityName(action: ActionWire): string {
    const name = String(action.functionName);
    const registered = this.options.resolveActivity(name);
    if (registered) return name;
    // DurableTaskExtension.ThrowIfFunctionDoesNotExist, raised while the shim replays the actions.
    const known = this.options.knownActivities();
    throw new ReplayFailure(
      `The function '${name}' doesn't exist, is disabled, or is not an activity function. Additional info: ${
        known.length ? `The following are the known activity functions: '${known.join("', '")}'.` : 'No activity functions are currently registered!'
      }`,
    );
  }

  private scheduleTask(name: string, input: string | null): Pending {
    const id = this.nextId++;
    const task = new Pending();
    this.open.set(id, task);
    this.created.set(id, { kind: 'task', id, name, input });
    return task;
  }

  private scheduleTimer(fireAt: number): Pending {
    const id = this.nextId++;
    const task = new Pending();
    this.open.set(id, task);
    this.created.set(id, { kind: 'timer', id, fireAt: new Date(fireAt).toISOString() });
    return task;
  }

  /** The extension's CreateTimer: one timer, or a chain of intervals for one beyond MaximumDelayTime. */
  private timer(fireAt: number, canceled: boolean): Pending {
    if (fireAt - this.now <= MAXIMUM_SHORT_TIMER_MS) {
      const t = this.scheduleTimer(fireAt);
      if (!canceled) return t;
      // Cancelled at once by the shim (the task ends cancelled; the timer still fires later, unheard).
      const cancelled = new Pending();
      cancelled.settle(false);
      return cancelled;
    }
    const task = new Pending();
    const next = (intervalFireAt: number) => {
      if (canceled) {
        this.scheduleTimer(intervalFireAt);
        task.settle(false);
        return;
      }
      this.scheduleTimer(intervalFireAt).then(() => {
        const remaining = fireAt - this.now;
        if (remaining <= 0) task.settle(true);
        else next(this.now + Math.min(remaining, LONG_RUNNING_TIMER_INTERVAL_MS));
      });
    };
    next(this.now + LONG_RUNNING_TIMER_INTERVAL_MS);
    return task;
  }

  /**
   * DurableTask.Core's RetryInterceptor: attempts up to maxNumberOfAttempts; after a failure waits
   * on a durable timer for the next delay (firstRetryInterval × backoff^attempt, capped by
   * maxRetryInterval), and after the last failure on a timer due at once (kept by DTFx for replay
   * compatibility, and awaited by durable-functions' RetryableTask). A retry timeout that has passed
   * ends the retries without that timer.
   */
  private withRetry(name: string, input: string | null, options: RetryOptionsWire | undefined): Pending {
    if (!options) throw new ReplayFailure(`CallActivityWithRetry for '${name}' carries no retryOptions.`);
    // DurableOrchestrationContext.CallDurableTaskFunctionAsync: the Azure Storage provider refuses
    // retry intervals beyond its maximum delay (ValidateDelayTime), failing the orchestration.
    const maxRetryInterval = options.maxRetryIntervalInMilliseconds ?? DEFAULT_MAX_RETRY_INTERVAL_MS;
    if (maxRetryInterval > MAXIMUM_SHORT_TIMER_MS || options.firstRetryIntervalInMilliseconds > MAXIMUM_SHORT_TIMER_MS) {
      throw new ReplayFailure(`The Azure Storage provider supports a maximum of ${MAXIMUM_SHORT_TIMER_MS / 86_400_000} days for time-based delays`);
    }
    const attempts = Math.trunc(options.maxNumberOfAttempts);
    // Stricter than Azure: with no attempt, DurableTask.Core's RetryInterceptor never calls the
    // activity and returns null, while durable-functions waits for an attempt that never comes.
    if (!(attempts >= 1)) throw new ReplayFailure(`CallActivityWithRetry for '${name}': maxNumberOfAttempts must be at least 1 (it counts the first attempt).`);
    const task = new Pending();
    const firstAttempt = this.now;
    const attempt = (retryCount: number) => {
      this.scheduleTask(name, input).then((ok) => {
        if (ok) return task.settle(true);
        if (retryCount + 1 === attempts) {
          this.scheduleTimer(this.now).then(() => task.settle(false));
          return;
        }
        const delay = this.nextDelay(options, retryCount, firstAttempt);
        if (delay === 0) return task.settle(false);
        this.scheduleTimer(this.now + delay).then(() => attempt(retryCount + 1));
      });
    };
    attempt(0);
    return task;
  }

  private nextDelay(options: RetryOptionsWire, retryCount: number, firstAttempt: number): number {
    if (options.retryTimeoutInMilliseconds !== undefined && this.now >= firstAttempt + options.retryTimeoutInMilliseconds) return 0;
    const delay = options.firstRetryIntervalInMilliseconds * Math.pow(options.backoffCoefficient ?? 1, retryCount);
    const cap = options.maxRetryIntervalInMilliseconds ?? DEFAULT_MAX_RETRY_INTERVAL_MS;
    return delay < cap ? delay : cap;
  }

  /** Waiters per name form a stack (the newest gets the event); events nobody waits for are buffered. Names are case-insensitive. */
  private waitForEvent(name: string): Pending {
    const key = name.toLowerCase();
    const task = new Pending();
    const stack = this.waiters.get(key) ?? [];
    stack.push(task);
    this.waiters.set(key, stack);
    const buffered = this.buffered.get(key) ?? 0;
    if (buffered > 0) {
      this.buffered.set(key, buffered - 1);
      this.raise(name);
    }
    return task;
  }

  private raise(name: string): void {
    const key = name.toLowerCase();
    const stack = this.waiters.get(key);
    const waiter = stack?.pop();
    if (stack && stack.length === 0) this.waiters.delete(key);
    if (waiter) waiter.settle(true);
    else this.buffered.set(key, (this.buffered.get(key) ?? 0) + 1);
  }

  /** A TaskScheduled/TimerCreated event must match what the replay scheduled under that number. */
  private recorded(e: HistoryEvent, kind: Decision['kind']): void {
    const d = this.created.get(e.EventId);
    const what = kind === 'task' ? `TaskScheduledEvent: ${e.EventId} TaskScheduled ${String(e.Name)}` : `TimerCreatedEvent: ${e.EventId} TimerCreated`;
    if (!d || d.kind !== kind || (d.kind === 'task' && d.name.toLowerCase() !== String(e.Name).toLowerCase())) {
      throw new ReplayFailure(`Non-Deterministic workflow detected: ${what}`);
    }
    this.created.delete(e.EventId);
  }
}
