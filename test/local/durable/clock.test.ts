import { ManualClock, systemClock } from '../../../local/durable/clock';

// The driver's clocks: the system clock for `npm start`, a manual one for tests.

it('fires manual timers when the clock reaches them, earliest first, and not once cancelled', () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.schedule(3000, () => fired.push('b'));
  clock.schedule(2000, () => fired.push('a'));
  const cancel = clock.schedule(2500, () => fired.push('cancelled'));
  cancel();
  clock.advance(999);
  expect(fired).toEqual([]);
  expect(clock.waiting).toBe(2);
  expect(clock.nextAt).toBe(2000);
  clock.set(5000);
  expect(fired).toEqual(['a', 'b']);
  expect(clock.now()).toBe(5000);
  expect(clock.waiting).toBe(0);
  expect(clock.nextAt).toBeUndefined();
  expect(() => clock.advance(-1)).toThrow(RangeError);
});

it('fires a manual timer already due without waiting for the clock to move', async () => {
  const clock = new ManualClock(1000);
  const fired = new Promise<number>((ok) => clock.schedule(500, () => ok(clock.now())));
  await expect(fired).resolves.toBe(1000);
});

it('fires system timers at their time, never inside schedule(), and not once cancelled', async () => {
  let fired = 0;
  const cancel = systemClock.schedule(Date.now() + 30, () => fired++);
  systemClock.schedule(Date.now() - 1000, () => fired++);
  expect(fired).toBe(0);
  await new Promise((ok) => setTimeout(ok, 10));
  expect(fired).toBe(1);
  cancel();
  await new Promise((ok) => setTimeout(ok, 60));
  expect(fired).toBe(1);
  const at = Date.now() + 20;
  await new Promise<void>((ok) => systemClock.schedule(at, ok));
  expect(Date.now()).toBeGreaterThanOrEqual(at);
});
