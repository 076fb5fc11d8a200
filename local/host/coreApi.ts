import Module from 'node:module';

// What the Azure Functions Node worker gives the app: the module `@azure/functions-core`, through
// which `@azure/functions` hands over every registration (metadata + handler) and hook. Only the
// members that library calls are here; see docs/local-host.md.

export interface BindingInfo {
  type: string;
  direction: 'in' | 'out';
  name?: string;
  route?: string;
  methods?: string[];
  authLevel?: string;
  [key: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingInfo>;
}

export type CoreCallback = (...args: unknown[]) => unknown;

export interface Registration {
  metadata: FunctionMetadata;
  handler: CoreCallback;
}

export interface CoreApiState {
  registrations: Registration[];
  hooks: Map<string, CoreCallback[]>;
  /** What `@azure/functions` handed to `setProgrammingModel` (see local/host/stream.ts). */
  programmingModel?: unknown;
}

type Require = (this: NodeJS.Module, id: string) => unknown;

/** Installs `@azure/functions-core` for every later `require`; returns what the app registers. */
export function installCoreApi(hostVersion: string): CoreApiState {
  const state: CoreApiState = { registrations: [], hooks: new Map() };
  const coreApi = {
    version: '3.10.1',
    hostVersion,
    setProgrammingModel(model: unknown) {
      state.programmingModel = model;
    },
    getProgrammingModel() {
      return state.programmingModel;
    },
    registerFunction(metadata: FunctionMetadata, handler: CoreCallback) {
      if (state.registrations.some((r) => r.metadata.name === metadata.name)) {
        throw new Error(`A function named "${metadata.name}" is already registered.`);
      }
      state.registrations.push({ metadata, handler });
      return {
        dispose: () =>
          state.registrations.splice(
            state.registrations.findIndex((r) => r.handler === handler),
            1,
          ),
      };
    },
    registerHook(hookName: string, callback: CoreCallback) {
      const list = state.hooks.get(hookName) ?? [];
      list.push(callback);
      state.hooks.set(hookName, list);
      return { dispose: () => list.splice(list.indexOf(callback), 1) };
    },
    log(level: string, category: string, message: string) {
      if (level === 'error' || level === 'critical') console.error(message);
      else if (level === 'warning') console.warn(message);
      else if (category !== 'system' || level !== 'debug') console.info(message);
    },
    Disposable: class {
      constructor(private readonly fn: () => void) {}
      dispose() {
        this.fn();
      }
    },
  };
  const proto = (Module as unknown as { prototype: { require: Require } }).prototype;
  const original = proto.require;
  proto.require = function (this: NodeJS.Module, id: string) {
    return id === '@azure/functions-core' ? coreApi : original.call(this, id);
  };
  return state;
}

/** Runs the hooks registered under `name` in order, as the worker does at app start/terminate. */
export async function runHooks(state: CoreApiState, name: 'appStart' | 'appTerminate'): Promise<void> {
  for (const hook of state.hooks.get(name) ?? []) {
    await hook({ hookData: {}, appHookData: {} });
  }
}
