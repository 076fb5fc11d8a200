import type { Timer } from '@azure/functions';
import { CronExpressionParser } from 'cron-parser';
import { systemClock, type DurableClock } from '../durable/clock';
import type { Registration } from './coreApi';
import { byType, consoleLog, invocationContext, triggerOf, type HostLog, type InputProviders, type LogLevel, type NamedBinding, type ProvideInput } from './invocation';

// Runs the app's timer triggers (`app.timer(...)`) the way the Functions host's timer extension
// does: NCRONTAB schedules (six fields, seconds first) in UTC or hh:mm:ss intervals, `%SETTING%`
// resolved from the app settings, `runOnStartup`, one invocation per function at a time, and a
// failing invocation never stopping its schedule. See docs/local-host.md (Timers).

/** When a schedule next occurs, strictly after `after` (ms since the epoch). */
export interface TimerSchedule {
  /** The expression as resolved (after `%SETTING%` substitution). */
  readonly expression: string;
  readonly kind: 'cron' | 'interval';
  next(after: number): number;
}

export type TimerLogLevel = LogLevel;

export interface TimerSchedulerOptions {
  /** What the app registered (`core.registrations`); every `timerTrigger` among them is scheduled. */
  registrations: Registration[];
  /** The scheduler's time; the system clock unless given (tests pass a `ManualClock`). */
  clock?: DurableClock;
  /** App settings for `%NAME%` in a schedule; `process.env` unless given. */
  settings?: Record<string, string | undefined>;
  /** Values for non-trigger input bindings by type (a `durableClient`), as for HTTP functions. */
  inputs?: InputProviders;
  /** Where scheduler and function logs go; the console unless given. */
  log?: HostLog;
}

export interface ScheduledTimer {
  name: string;
  /** The schedule as registered (before `%SETTING%` substitution). */
  schedule: string;
  runOnStartup: boolean;
  /** The next regular occurrence; undefined before start() and after stop(). */
  next: Date | undefined;
}

/** `ScheduleStatus.Last` of a timer that has not run yet: .NET's `default(DateTime)`, as the host reports it. */
export const NEVER = '0001-01-01T00:00:00.000Z';

const DAY_MS = 24 * 60 * 60 * 1000;

interface Entry {
  registration: Registration;
  name: string;
  trigger: NamedBinding;
  schedule: TimerSchedule;
  runOnStartup: boolean;
  /** The armed regular occurrence. */
  nextAt?: number;
  cancelNext?: () => void;
  cancelStartup?: () => void;
  running?: Promise<void>;
  /** An occurrence that came due while the runOnStartup invocation ran. */
  deferredAt?: number;
  last: string;
  lastUpdated: string;
}

export class TimerScheduler {
  private readonly clock: DurableClock;
  private readonly entries: Entry[];
  private readonly log: HostLog;
  private readonly inputs: ProvideInput;
  private state: 'new' | 'started' | 'stopped' = 'new';

  /** Reads every timer trigger's schedule; throws, naming the function, when one is not valid. */
  constructor(options: TimerSchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.inputs = byType(options.inputs ?? {});
    this.log = options.log ?? consoleLog();
    const settings = options.settings ?? process.env;
    this.entries = [];
    for (const registration of options.registrations) {
      const { metadata } = registration;
      const trigger = triggerOf(metadata);
      if (trigger.direction !== 'in' || trigger.type.toLowerCase() !== 'timertrigger') continue;
      let schedule: TimerSchedule;
      try {
        schedule = parseSchedule(typeof trigger.schedule === 'string' ? trigger.schedule : '', settings);
        schedule.next(this.clock.now());
      } catch (err) {
        throw new Error(`Timer function "${metadata.name}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      this.entries.push({
        registration,
        name: metadata.name,
        trigger,
        schedule,
        runOnStartup: trigger.runOnStartup === true || trigger.runOnStartup === 'true',
        last: NEVER,
        lastUpdated: NEVER,
      });
    }
  }

  /** The timer functions found, with their next occurrence. */
  timers(): ScheduledTimer[] {
    return this.entries.map((e) => ({
      name: e.name,
      schedule: String(e.trigger.schedule),
      runOnStartup: e.runOnStartup,
      next: e.nextAt === undefined ? undefined : new Date(e.nextAt),
    }));
  }

  /** Arms every timer; `runOnStartup` ones are also invoked at once (never inside this call). */
  start(): void {
    if (this.state !== 'new') throw new Error(`The timer scheduler is already ${this.state}.`);
    this.state = 'started';
    const now = this.clock.now();
    for (const entry of this.entries) {
      if (entry.runOnStartup) {
        entry.cancelStartup = this.clock.schedule(now, () => {
          entry.cancelStartup = undefined;
          if (this.state !== 'started') return;
          this.log('information', `[timers] ${entry.name}: running on startup (runOnStartup)`);
          this.invoke(entry, this.clock.now(), entry.nextAt ?? this.clock.now());
        });
      }
      this.arm(entry, entry.schedule.next(now));
    }
  }

  /** Disarms every timer and waits for the invocations still running. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    for (const entry of this.entries) {
      entry.cancelNext?.();
      entry.cancelStartup?.();
      entry.cancelNext = entry.cancelStartup = entry.nextAt = undefined;
    }
    await Promise.allSettled(this.entries.flatMap((e) => (e.running ? [e.running] : [])));
  }

  private arm(entry: Entry, at: number): void {
    entry.nextAt = at;
    entry.cancelNext = this.clock.schedule(at, () => this.due(entry, at));
  }

  private due(entry: Entry, at: number): void {
    entry.cancelNext = undefined;
    if (this.state !== 'started') return;
    if (entry.running) {
      // Only the runOnStartup invocation can still run here: the occurrence waits for it to end.
      entry.deferredAt = at;
      return;
    }
    this.invoke(entry, Math.max(this.clock.now(), at), at);
  }

  /**
   * As the host's TimerListener: one invocation at a time, and the next occurrence is armed only
   * when it ends, computed from when it was invoked. An occurrence that passed meanwhile is due at
   * once, so an overrun runs one missed occurrence late (never a backlog, never two at once).
   */
  private rearm(entry: Entry, invokedAt: number): void {
    if (this.state !== 'started') return;
    const deferred = entry.deferredAt;
    entry.deferredAt = undefined;
    if (deferred !== undefined) {
      this.invoke(entry, Math.max(this.clock.now(), deferred), deferred);
      return;
    }
    if (entry.cancelNext) return; // armed already (a runOnStartup invocation beside the schedule)
    const next = entry.schedule.next(invokedAt);
    if (next <= this.clock.now()) this.log('warning', `[timers] ${entry.name}: the occurrence due ${iso(next)} passed while the previous invocation ran; running it now`);
    this.arm(entry, next);
  }

  /** Invokes the handler as the worker does for a timer: handler(Timer, InvocationContext). */
  private invoke(entry: Entry, invokedAt: number, scheduledNext: number): void {
    const timer: Timer = {
      schedule: { adjustForDST: false },
      // As the host's listener reports it: the status recorded after the previous run, whose
      // `next` is the occurrence now due.
      scheduleStatus: { last: entry.last, next: iso(scheduledNext), lastUpdated: entry.lastUpdated },
      // The local host keeps no schedule status between runs, so it never catches up a missed occurrence.
      isPastDue: false,
    };
    const context = invocationContext(entry.registration.metadata, this.inputs, this.log);
    const { handler } = entry.registration;
    const call = async () => {
      try {
        await handler(timer, context);
      } catch (err) {
        context.error(`Function "${entry.name}" threw ${describeError(err)}`);
      }
    };
    // `finally` runs its callback later even when the handler throws at once, so `running` is set first.
    entry.running = call().finally(() => {
      entry.last = entry.lastUpdated = iso(invokedAt);
      entry.running = undefined;
      this.rearm(entry, invokedAt);
    });
  }
}

/**
 * A timer trigger's schedule as the host reads it: `%NAME%` replaced by the app setting, then a
 * six-field NCRONTAB expression (`{second} {minute} {hour} {day} {month} {day-of-week}`, UTC) or
 * an `hh:mm:ss` TimeSpan (an interval counted from start and from each run). Anything else throws.
 */
export function parseSchedule(raw: string, settings: Record<string, string | undefined> = process.env): TimerSchedule {
  const expression = raw
    .replace(/%([^%]+)%/g, (_, name: string) => {
      const value = settings[name];
      if (value === undefined || value === '') throw new Error(`the schedule "${raw}" names the app setting ${name}, which is not set`);
      return value;
    })
    .trim();
  if (!expression) throw new Error('the timer trigger has no schedule');
  const span = /^(\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(expression);
  if (span) return intervalSchedule(expression, Number(span[1]), Number(span[2]), Number(span[3]));
  return cronSchedule(expression, raw);
}

function intervalSchedule(expression: string, h: number, m: number, s: number): TimerSchedule {
  if (h > 23 || m > 59 || s > 59) {
    throw new Error(`the TimeSpan schedule "${expression}" is out of range: hh:mm:ss takes hours 0-23, minutes and seconds 0-59 (.NET would read "${expression}" as days)`);
  }
  const ms = ((h * 60 + m) * 60 + s) * 1000;
  if (ms === 0) throw new Error(`the TimeSpan schedule "${expression}" is zero; it must be at least a second`);
  return { expression, kind: 'interval', next: (after) => after + ms };
}

const CRON_PART = /^(?:\*|(?:\d+|[a-z]{3})(?:-(?:\d+|[a-z]{3}))?)(?:\/\d+)?$/i;

function cronSchedule(expression: string, raw: string): TimerSchedule {
  const shown = raw === expression ? `"${raw}"` : `"${raw}" ("${expression}")`;
  const fields = expression.split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `the schedule ${shown} is neither a six-field NCRONTAB expression ({second} {minute} {hour} {day} {month} {day-of-week}) ` +
        `nor an hh:mm:ss TimeSpan (it has ${fields.length} field${fields.length === 1 ? '' : 's'})`,
    );
  }
  const bad = fields.find((f) => !f.split(',').every((part) => CRON_PART.test(part)));
  if (bad !== undefined) {
    throw new Error(`the schedule ${shown} is not a valid NCRONTAB expression: "${bad}" (NCRONTAB takes numbers, names, *, ranges a-b, steps /n and lists a,b)`);
  }
  const weekdayOutOfRange = fields[5].split(',').some((part) =>
    part
      .replace(/\/\d+$/, '')
      .split('-')
      .some((v) => /^\d+$/.test(v) && Number(v) > 6),
  );
  if (weekdayOutOfRange) {
    throw new Error(`the schedule ${shown} is not a valid NCRONTAB expression: day of week "${fields[5]}" (0-6, Sunday = 0)`);
  }
  let parsed;
  try {
    parsed = CronExpressionParser.parse(fields.join(' '), { tz: 'UTC', currentDate: 0 });
  } catch (err) {
    throw new Error(`the schedule ${shown} is not a valid NCRONTAB expression: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  // NCRONTAB, unlike Unix cron, wants both the day of the month and the day of the week to match
  // when both are restricted ("0 0 0 13 * fri" is Friday the 13th, not every Friday and every 13th).
  const both = !parsed.fields.dayOfMonth.isWildcard && !parsed.fields.dayOfWeek.isWildcard;
  const weekdays = new Set(parsed.fields.dayOfWeek.values.map((v) => Number(v) % 7));
  const byDay = both ? [...fields.slice(0, 5), '*'].join(' ') : fields.join(' ');
  return {
    expression,
    kind: 'cron',
    next(after) {
      let from = after;
      for (let i = 0; i < 5000; i++) {
        const at = CronExpressionParser.parse(byDay, { tz: 'UTC', currentDate: from }).next().getTime();
        if (!both || weekdays.has(new Date(at).getUTCDay())) return at;
        from = Math.floor(at / DAY_MS + 1) * DAY_MS - 1; // the last millisecond of that day
      }
      throw new Error(`the schedule ${shown} never occurs (its day of the month and day of the week never meet)`);
    },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return typeof err;
}
