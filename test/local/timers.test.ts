import { app as functionsApp, input, type InvocationContext, type Timer } from '@azure/functions';
import { ManualClock } from '../../local/durable/clock';
import { NEVER, parseSchedule, TimerScheduler, type TimerLogLevel } from '../../local/host/timers';
import { loadApp } from './durable/support';

// The local host's timer triggers: functions registered with app.timer(...) through the local
// @azure/functions-core, run by TimerScheduler on a manual clock.

const { core } = loadApp();

interface Call {
  timer: Timer;
  context: InvocationContext;
  at: number;
}

const START = Date.UTC(2030, 0, 1, 0, 3, 20);

/** A scheduler over the named functions only (each test registers its own), with its log captured. */
function schedulerFor(names: string[], clock: ManualClock, extra: Partial<ConstructorParameters<typeof TimerScheduler>[0]> = {}) {
  const logs: { level: TimerLogLevel; message: string }[] = [];
  const scheduler = new TimerScheduler({
    registrations: core.registrations.filter((r) => names.includes(r.metadata.name)),
    clock,
    log: (level, message) => logs.push({ level, message }),
    ...extra,
  });
  return { scheduler, logs };
}

function recorder(clock: ManualClock, body: (call: Call) => unknown = () => undefined) {
  const calls: Call[] = [];
  const handler = (timer: Timer, context: InvocationContext) => {
    const call = { timer, context, at: clock.now() };
    calls.push(call);
    return body(call);
  };
  return { calls, handler };
}

/** Lets the handlers' promises (and microtask-fired timers) settle. */
const flush = () => new Promise((ok) => setImmediate(ok));

const at = (iso: string) => Date.parse(iso);

it('fires at the next quarter hour and not before, with a Timer and an InvocationContext as the worker builds them', async () => {
  const clock = new ManualClock(START);
  const { calls, handler } = recorder(clock);
  functionsApp.timer('every15', { schedule: '0 */15 * * * *', handler });
  const { scheduler } = schedulerFor(['every15'], clock);
  scheduler.start();
  expect(scheduler.timers()).toEqual([{ name: 'every15', schedule: '0 */15 * * * *', runOnStartup: false, next: new Date('2030-01-01T00:15:00.000Z') }]);

  clock.set(at('2030-01-01T00:14:59.999Z'));
  await flush();
  expect(calls).toHaveLength(0);
  clock.advance(1);
  await flush();
  expect(calls).toHaveLength(1);
  const [first] = calls;
  expect(first.at).toBe(at('2030-01-01T00:15:00.000Z'));
  expect(first.timer).toEqual({
    schedule: { adjustForDST: false },
    scheduleStatus: { last: NEVER, next: '2030-01-01T00:15:00.000Z', lastUpdated: NEVER },
    isPastDue: false,
  });
  expect(first.context.functionName).toBe('every15');
  expect(first.context.invocationId).toMatch(/^[0-9a-f-]{36}$/);
  expect(first.context.options.trigger).toMatchObject({ type: 'timerTrigger', schedule: '0 */15 * * * *', direction: 'in' });
  expect(first.context.options.trigger.name).toBeTruthy();

  clock.set(at('2030-01-01T00:30:00.000Z'));
  await flush();
  expect(calls).toHaveLength(2);
  expect(calls[1].timer.scheduleStatus).toEqual({ last: '2030-01-01T00:15:00.000Z', next: '2030-01-01T00:30:00.000Z', lastUpdated: '2030-01-01T00:15:00.000Z' });
  expect(calls[1].context.invocationId).not.toBe(first.context.invocationId);
  expect(scheduler.timers()[0].next).toEqual(new Date('2030-01-01T00:45:00.000Z'));
  await scheduler.stop();
});

it('logs through the context to the host log, and keeps the schedule when an invocation throws or rejects', async () => {
  const clock = new ManualClock(START);
  const { calls, handler } = recorder(clock, ({ context }) => {
    context.log('working');
    if (calls.length === 1) throw new Error('boom');
    if (calls.length === 2) return Promise.reject(new TypeError('async boom'));
    return undefined;
  });
  functionsApp.timer('throws', { schedule: '0 */15 * * * *', handler });
  const { scheduler, logs } = schedulerFor(['throws'], clock);
  scheduler.start();
  for (const quarter of ['00:15', '00:30', '00:45']) {
    clock.set(at(`2030-01-01T${quarter}:00.000Z`));
    await flush();
  }
  expect(calls.map((c) => c.at)).toEqual([at('2030-01-01T00:15:00Z'), at('2030-01-01T00:30:00Z'), at('2030-01-01T00:45:00Z')]);
  expect(logs.filter((l) => l.level === 'error')).toEqual([
    { level: 'error', message: '[throws] Function "throws" threw Error: boom' },
    { level: 'error', message: '[throws] Function "throws" threw TypeError: async boom' },
  ]);
  expect(logs).toContainEqual({ level: 'information', message: '[throws] working' });
  // A failed run still counts as the last run, as the host records it.
  expect(calls[2].timer.scheduleStatus.last).toBe('2030-01-01T00:30:00.000Z');
  await scheduler.stop();
});

it("never overlaps runs: occurrences passed during an overrun run once, late, when it ends (no backlog), as the host's TimerListener does", async () => {
  const clock = new ManualClock(START);
  let release!: () => void;
  const { calls, handler } = recorder(clock, () => new Promise<void>((ok) => (release = ok)));
  functionsApp.timer('slow', { schedule: '0 */15 * * * *', handler });
  const { scheduler, logs } = schedulerFor(['slow'], clock);
  scheduler.start();
  clock.set(at('2030-01-01T00:15:00Z'));
  await flush();
  // 00:30 and 00:45 pass while the 00:15 run is still going.
  clock.set(at('2030-01-01T00:50:00Z'));
  await flush();
  expect(calls).toHaveLength(1);
  release();
  await flush();
  // One late run for the missed occurrences, at once; its status says the occurrence it stands for.
  expect(calls.map((c) => c.at)).toEqual([at('2030-01-01T00:15:00Z'), at('2030-01-01T00:50:00Z')]);
  expect(calls[1].timer.scheduleStatus.next).toBe('2030-01-01T00:30:00.000Z');
  expect(logs).toContainEqual({ level: 'warning', message: '[timers] slow: the occurrence due 2030-01-01T00:30:00.000Z passed while the previous invocation ran; running it now' });
  release();
  await flush();
  clock.set(at('2030-01-01T01:00:00Z'));
  await flush();
  expect(calls.map((c) => c.at)).toEqual([at('2030-01-01T00:15:00Z'), at('2030-01-01T00:50:00Z'), at('2030-01-01T01:00:00Z')]);
  release();
  await scheduler.stop();
});

it('runs a TimeSpan schedule as an interval from start', async () => {
  const clock = new ManualClock(START);
  const { calls, handler } = recorder(clock);
  functionsApp.timer('every30s', { schedule: '00:00:30', handler });
  const { scheduler } = schedulerFor(['every30s'], clock);
  scheduler.start();
  clock.advance(29_999);
  await flush();
  expect(calls).toHaveLength(0);
  clock.advance(1);
  await flush();
  clock.advance(30_000);
  await flush();
  expect(calls.map((c) => c.at - START)).toEqual([30_000, 60_000]);
  expect(calls[1].timer.scheduleStatus.next).toBe(new Date(START + 60_000).toISOString());
  await scheduler.stop();
});

it('resolves %SETTING% schedules from the app settings', async () => {
  const clock = new ManualClock(START);
  const { calls, handler } = recorder(clock);
  functionsApp.timer('fromSetting', { schedule: '%TEST_ROTATION_SCHEDULE%', handler });
  const { scheduler } = schedulerFor(['fromSetting'], clock, { settings: { TEST_ROTATION_SCHEDULE: '0 0 3 * * *' } });
  scheduler.start();
  expect(scheduler.timers()[0]).toMatchObject({ schedule: '%TEST_ROTATION_SCHEDULE%', next: new Date('2030-01-01T03:00:00Z') });
  clock.set(at('2030-01-01T03:00:00Z'));
  await flush();
  expect(calls).toHaveLength(1);
  await scheduler.stop();
});

it('refuses a schedule it cannot run at start, naming the function', () => {
  const clock = new ManualClock(START);
  const cases: [string, string, RegExp][] = [
    ['badFiveFields', '0 */15 * * *', /^Timer function "badFiveFields": the schedule "0 \*\/15 \* \* \*" is neither a six-field NCRONTAB expression .* nor an hh:mm:ss TimeSpan \(it has 5 fields\)$/],
    ['badDays', '1.00:00:00', /^Timer function "badDays": .*neither a six-field NCRONTAB expression/],
    ['badQuartz', '0 0 0 L * ?', /^Timer function "badQuartz": .*not a valid NCRONTAB expression: "L"/],
    ['badRange', '61 * * * * *', /^Timer function "badRange": .*not a valid NCRONTAB expression: .*61/],
    ['badWeekday', '0 0 0 * * 7', /^Timer function "badWeekday": .*day of week "7" \(0-6, Sunday = 0\)/],
    ['badHours', '24:00:00', /^Timer function "badHours": the TimeSpan schedule "24:00:00" is out of range/],
    ['badZero', '00:00:00', /^Timer function "badZero": the TimeSpan schedule "00:00:00" is zero/],
    ['badSetting', '%TEST_UNSET_SCHEDULE%', /^Timer function "badSetting": the schedule "%TEST_UNSET_SCHEDULE%" names the app setting TEST_UNSET_SCHEDULE, which is not set$/],
  ];
  for (const [name, schedule, message] of cases) {
    functionsApp.timer(name, { schedule, handler: () => undefined });
    expect(() => schedulerFor([name], clock, { settings: {} })).toThrow(message);
  }
});

it('reads NCRONTAB as the host does: seconds first, UTC, and day of month AND day of week', () => {
  const from = Date.UTC(2030, 0, 1);
  const next = (expr: string, after = from) => new Date(parseSchedule(expr, {}).next(after)).toISOString();
  expect(next('*/5 * * * * *')).toBe('2030-01-01T00:00:05.000Z');
  expect(next('0 30 9 * * mon-fri')).toBe('2030-01-01T09:30:00.000Z');
  expect(next('0 0 0 1 jan-mar *', Date.UTC(2030, 0, 1, 0, 0, 0, 1))).toBe('2030-02-01T00:00:00.000Z');
  // Unix cron would fire every Friday and every 13th; NCRONTAB only on Friday the 13th.
  const s = parseSchedule('0 0 0 13 * fri', {});
  const fridays13 = [s.next(from)];
  fridays13.push(s.next(fridays13[0]));
  expect(fridays13.map((t) => new Date(t).toISOString())).toEqual(['2030-09-13T00:00:00.000Z', '2030-12-13T00:00:00.000Z']);
  expect(next('0 0 0 29 2 mon')).toBe('2044-02-29T00:00:00.000Z');
});

it('runs a runOnStartup timer once at start, then on its schedule', async () => {
  const clock = new ManualClock(START);
  const { calls, handler } = recorder(clock);
  functionsApp.timer('onStartup', { schedule: '0 0 0 * * *', runOnStartup: true, handler });
  const { scheduler, logs } = schedulerFor(['onStartup'], clock);
  scheduler.start();
  expect(calls).toHaveLength(0); // never inside start()
  await flush();
  expect(calls).toHaveLength(1);
  expect(calls[0].at).toBe(START);
  expect(calls[0].timer.scheduleStatus).toEqual({ last: NEVER, next: '2030-01-02T00:00:00.000Z', lastUpdated: NEVER });
  expect(logs).toContainEqual({ level: 'information', message: '[timers] onStartup: running on startup (runOnStartup)' });
  clock.advance(60 * 60 * 1000);
  await flush();
  expect(calls).toHaveLength(1);
  clock.set(at('2030-01-02T00:00:00Z'));
  await flush();
  expect(calls.map((c) => new Date(c.at).toISOString())).toEqual([new Date(START).toISOString(), '2030-01-02T00:00:00.000Z']);
  expect(calls[1].timer.scheduleStatus.last).toBe(new Date(START).toISOString());
  await scheduler.stop();
});

it('gives a timer its extra inputs from the providers (a durable client)', async () => {
  const clock = new ManualClock(START);
  const starter = input.generic({ type: 'durableClient', name: 'starter' });
  const { calls, handler } = recorder(clock);
  functionsApp.timer('withClient', { schedule: '00:01:00', extraInputs: [starter], handler });
  const { scheduler } = schedulerFor(['withClient'], clock, { inputs: { durableClient: (binding) => ({ taskHubName: 'TestHubName', binding: binding.name }) } });
  scheduler.start();
  clock.advance(60_000);
  await flush();
  expect(calls[0].context.extraInputs.get(starter)).toEqual({ taskHubName: 'TestHubName', binding: 'starter' });
  expect(calls[0].context.options.extraInputs).toEqual([expect.objectContaining({ type: 'durableClient', name: 'starter' })]);
  await scheduler.stop();
});

it('stop() disarms every timer and waits for the invocation still running', async () => {
  const clock = new ManualClock(START);
  let release!: () => void;
  let finished = false;
  const { calls, handler } = recorder(clock, async () => {
    await new Promise<void>((ok) => (release = ok));
    finished = true;
  });
  functionsApp.timer('stopping', { schedule: '0 */15 * * * *', handler });
  functionsApp.timer('stoppingStartup', { schedule: '0 0 0 * * *', runOnStartup: true, handler: () => undefined });
  const { scheduler } = schedulerFor(['stopping', 'stoppingStartup'], clock);
  scheduler.start();
  clock.set(at('2030-01-01T00:15:00Z'));
  await flush();
  expect(calls).toHaveLength(1);
  let stopped = false;
  const stopping = scheduler.stop().then(() => (stopped = true));
  await flush();
  expect(stopped).toBe(false);
  release();
  await stopping;
  expect(finished).toBe(true);
  expect(clock.waiting).toBe(0);
  expect(scheduler.timers().map((t) => t.next)).toEqual([undefined, undefined]);
  clock.set(at('2030-01-02T00:00:00Z'));
  await flush();
  expect(calls).toHaveLength(1);
  expect(() => scheduler.start()).toThrow(/already stopped/);
});

it('on the system clock, waits longer than setTimeout can (24.8 days) in steps and fires on time', async () => {
  jest.useFakeTimers({ now: START, doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
  const delays: number[] = [];
  const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
  try {
    const calls: number[] = [];
    functionsApp.timer('yearly', { schedule: '0 0 0 15 2 *', handler: () => void calls.push(Date.now()) });
    const scheduler = new TimerScheduler({ registrations: core.registrations.filter((r) => r.metadata.name === 'yearly'), log: () => undefined });
    scheduler.start();
    const due = Date.UTC(2030, 1, 15);
    jest.advanceTimersByTime(due - START - 1);
    await flush();
    expect(calls).toHaveLength(0);
    jest.advanceTimersByTime(1);
    await flush();
    expect(calls).toEqual([due]);
    delays.push(...setTimeoutSpy.mock.calls.map((c) => c[1] ?? 0));
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(delays).toContain(2 ** 31 - 1);
    await scheduler.stop();
    expect(jest.getTimerCount()).toBe(0);
  } finally {
    setTimeoutSpy.mockRestore();
    jest.useRealTimers();
  }
});
