import Module from 'node:module';
import { InvocationContext } from '@azure/functions';
import type * as DF from 'durable-functions';
import { installCoreApi, type CoreApiState } from '../../../local/host/coreApi';
import type { DurableDriver } from '../../../local/durable/driver';

// The app side of the tests: `durable-functions` and `@azure/functions` registering through the
// local host's @azure/functions-core (local/host/coreApi.ts). installCoreApi serves the module
// through Module.prototype.require; Jest resolves modules itself, so the object that require
// answers is handed to Jest's registry under the same name.

export interface App {
  core: CoreApiState;
  df: typeof DF;
}

export function loadApp(): App {
  const core = installCoreApi('4.0.0-credman-test');
  const coreApi = (Module as unknown as { prototype: { require(id: string): unknown } }).prototype.require.call(undefined, '@azure/functions-core');
  jest.doMock('@azure/functions-core', () => coreApi, { virtual: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after the mock is in place
  const df = require('durable-functions') as typeof DF;
  return { core, df };
}

/** A DurableClient as a function declaring `extraInputs: [df.input.durableClient()]` gets it from the driver. */
export function clientOf(app: App, driver: DurableDriver): DF.DurableClient {
  const input = app.df.input.durableClient();
  const context = new InvocationContext({ functionName: 'testClient', options: { trigger: { type: 'httpTrigger', name: 'req' }, extraInputs: [input] } });
  context.extraInputs.set(input, driver.extraInput({ type: input.type, direction: 'in', name: input.name }));
  return app.df.getClient(context);
}

/** Polls `probe` until `done` holds (or fails after `ms`). */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  let last: T;
  for (;;) {
    last = await probe();
    if (done(last)) return last;
    if (Date.now() > until) throw new Error(`condition not met in ${ms} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

/** Resolves after the event loop has had a chance to run pending work. */
export const settle = (ms = 50) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Holds the episodes of one orchestrator at its handler until released, to act while one is in
 * flight (the extension's episode, here the driver's, waits for the worker's answer).
 */
export function holdEpisodes(app: App, name: string): { entered: Promise<void>; release: () => void } {
  const registration = app.core.registrations.find((r) => r.metadata.name === name);
  if (!registration) throw new Error(`${name} is not registered`);
  const original = registration.handler;
  let entered!: () => void;
  let open!: () => void;
  const gate = new Promise<void>((ok) => (open = ok));
  const enteredPromise = new Promise<void>((ok) => (entered = ok));
  registration.handler = async (payload: unknown, context: unknown) => {
    entered();
    await gate;
    return original(payload, context);
  };
  return {
    entered: enteredPromise,
    release: () => {
      registration.handler = original;
      open();
    },
  };
}

/** Runs `hook` as the activity `name` starts for the `nth` time (1-based), then lets it run. */
export function onActivity(app: App, name: string, nth: number, hook: () => void): void {
  const registration = app.core.registrations.find((r) => r.metadata.name === name);
  if (!registration) throw new Error(`${name} is not registered`);
  const original = registration.handler;
  let calls = 0;
  registration.handler = (input: unknown, context: unknown) => {
    if (++calls === nth) {
      registration.handler = original;
      hook();
    }
    return original(input, context);
  };
}

/** Fails when `operation` takes longer than `ms` (held up by an episode in flight). */
export function promptly<T>(operation: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`${what} waited for the episode in flight`)), ms)));
  return Promise.race([operation, late]).finally(() => clearTimeout(timer));
}
