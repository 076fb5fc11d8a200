import { app as functionsApp, type FunctionHandler, type FunctionInput, type FunctionTrigger, type InvocationContext } from '@azure/functions';
import type * as DF from 'durable-functions';

// The part of `durable-functions` the app uses, without loading it at start: its index pulls in
// ~430 modules (validator, lodash, moment, axios, OpenTelemetry…), about a third of a cold start,
// and only orchestrations, activities and durable clients need them. Registration stays what the
// library does (durable-functions lib/src/app.js): `app.generic(name, { trigger, ...options,
// handler })`, with the library's own trigger and input helpers (lib/src/trigger.js, input.js:
// they require @azure/functions alone) and its own handler wrappers, made on first invocation.
// Import this module as `df` in place of 'durable-functions'.

export type { ActivityOptions, DurableClient, DurableOrchestrationStatus, OrchestrationContext, OrchestrationHandler } from 'durable-functions';

type Wrapped = (input: unknown, context: InvocationContext) => Promise<unknown>;

interface Internals {
  /** lib/src/util/testingUtils.js: what df.app.orchestration registers as the handler. */
  createOrchestrator(handler: DF.OrchestrationHandler): Wrapped;
}

/** durable-functions itself, loaded on first use. */
function library(): typeof DF & { app: { wrapActivityHandler(handler: FunctionHandler): Wrapped } } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, not at start
  return require('durable-functions') as typeof DF & { app: { wrapActivityHandler(handler: FunctionHandler): Wrapped } };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports -- @azure/functions only
const triggers = require('durable-functions/lib/src/trigger') as { orchestration(): FunctionTrigger; activity(): FunctionTrigger };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- @azure/functions only
const inputs = require('durable-functions/lib/src/input') as { durableClient(): FunctionInput };

export const app = {
  orchestration(functionName: string, handler: DF.OrchestrationHandler): void {
    let wrapped: Wrapped | undefined;
    functionsApp.generic(functionName, {
      trigger: triggers.orchestration(),
      handler: (input, context) => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first invocation
        wrapped ??= (require('durable-functions/lib/src/util/testingUtils') as Internals).createOrchestrator(handler);
        return wrapped(input, context);
      },
    });
  },
  activity(functionName: string, options: DF.ActivityOptions): void {
    let wrapped: Wrapped | undefined;
    functionsApp.generic(functionName, {
      trigger: triggers.activity(),
      ...options,
      handler: (input, context) => {
        wrapped ??= library().app.wrapActivityHandler(options.handler);
        return wrapped(input, context);
      },
    });
  },
};

export const input = { durableClient: (): FunctionInput => inputs.durableClient() };

export function getClient(context: InvocationContext): DF.DurableClient {
  return library().getClient(context);
}

// Small modules of the library (no dependencies), the same classes its index exports.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const RetryOptions = (require('durable-functions/lib/src/RetryOptions') as Pick<typeof DF, 'RetryOptions'>).RetryOptions;
export type RetryOptions = DF.RetryOptions;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const OrchestrationRuntimeStatus = (require('durable-functions/lib/src/orchestrations/OrchestrationRuntimeStatus') as Pick<typeof DF, 'OrchestrationRuntimeStatus'>).OrchestrationRuntimeStatus;
export type OrchestrationRuntimeStatus = DF.OrchestrationRuntimeStatus;
