import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import type { BindingInfo, FunctionMetadata } from './coreApi';

// The one place the local host builds an InvocationContext, as the Node worker does for every
// trigger (HTTP, timers, orchestrations, activities): the trigger binding and the non-trigger
// input bindings read from the function's metadata, a fresh invocation id, the extra inputs the
// host's extensions supply, and the function's logs routed by level.

export type LogLevel = 'information' | 'warning' | 'error';
/** Where the host's own lines and the functions' logs go. */
export type HostLog = (level: LogLevel, message: string) => void;

export type NamedBinding = BindingInfo & { name: string };

/**
 * Values for input bindings other than the trigger, by binding type, as the host's extensions
 * supply them (the durable driver gives `durableClient` its client data). The handler reads them
 * with `context.extraInputs.get(...)`, as in Azure.
 */
export type InputProviders = Record<string, (binding: NamedBinding) => unknown>;

/** A value for one extra input binding; undefined leaves it unset. */
export type ProvideInput = (binding: NamedBinding) => unknown;

/** Providers by exact binding type, as one lookup. */
export function byType(inputs: InputProviders): ProvideInput {
  return (binding) => inputs[binding.type]?.(binding);
}

/** The function's trigger: its first input binding whose type ends in "Trigger" (else its first binding), named. */
export function triggerOf(metadata: FunctionMetadata): NamedBinding {
  const entries = Object.entries(metadata.bindings);
  const [name, binding] = entries.find(([, b]) => b.direction === 'in' && isTrigger(b)) ?? entries[0];
  return { ...binding, name };
}

const extraInputsOf = new WeakMap<FunctionMetadata, NamedBinding[]>();

/** The function's non-trigger input bindings, named, as the worker lists them in `context.options.extraInputs`. */
export function extraInputs(metadata: FunctionMetadata): NamedBinding[] {
  let list = extraInputsOf.get(metadata);
  if (!list) {
    list = Object.entries(metadata.bindings)
      .filter(([, b]) => b.direction === 'in' && !isTrigger(b))
      .map(([name, b]) => ({ ...b, name }));
    extraInputsOf.set(metadata, list);
  }
  return list;
}

function isTrigger(binding: BindingInfo): boolean {
  return /trigger$/i.test(binding.type);
}

/** An InvocationContext for one invocation of the function, its extra inputs set from `provide`. */
export function invocationContext(metadata: FunctionMetadata, provide: ProvideInput, log: HostLog): InvocationContext {
  const inputs = extraInputs(metadata);
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: metadata.name,
    options: { trigger: triggerOf(metadata), ...(inputs.length ? { extraInputs: inputs } : {}) },
    logHandler: logRouter(metadata.name, log),
  });
  for (const binding of inputs) {
    const value = provide(binding);
    if (value !== undefined) context.extraInputs.set(binding.name, value);
  }
  return context;
}

/** The worker's log levels onto the host's: critical is an error, trace and debug are dropped. */
function logRouter(functionName: string, log: HostLog): (level: string, ...args: unknown[]) => void {
  return (level, ...args) => {
    const line = `[${functionName}] ${args.map(String).join(' ')}`;
    if (level === 'error' || level === 'critical') log('error', line);
    else if (level === 'warning') log('warning', line);
    else if (level !== 'trace' && level !== 'debug') log('information', line);
  };
}

/** The console, by level, each line after `prefix`. */
export function consoleLog(prefix = ''): HostLog {
  return (level, message) => {
    if (level === 'error') console.error(`${prefix}${message}`);
    else if (level === 'warning') console.warn(`${prefix}${message}`);
    else console.info(`${prefix}${message}`);
  };
}
