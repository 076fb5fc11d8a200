import type { CoreCallback } from '../host/coreApi';
import type { InvocationContext } from '@azure/functions';
import type { HistoryEvent } from './history';
import { LONG_RUNNING_TIMER_INTERVAL_MS, MAXIMUM_SHORT_TIMER_MS, type ActionWire } from './replay';

// The out-of-process protocol between the extension and the Node worker, as the driver speaks it:
// the orchestrator's trigger payload and the state it answers with (or throws, after
// `$OutOfProcData$`), an activity's input and how its exception reaches the orchestrator, and the
// durableClient binding's data (with the management URLs) that df.getClient reads.

/** What an orchestrator answers: durable-functions' OrchestratorState, schema V3. */
export interface OrchestratorStateWire {
  isDone?: boolean;
  actions?: ActionWire[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion?: number;
}

const OUT_OF_PROC_DATA = '\n\n$OutOfProcData$:';

const durationString = (ms: number) => `${ms / 86_400_000}.00:00:00`;

/**
 * Calls an orchestrator with the trigger payload the extension sends
 * (OrchestrationTriggerAttributeBindingProvider), as JSON, and reads its answer as the extension
 * does: the state it returned, or the `$OutOfProcData$` state of what it threw, with schema V3's
 * one list of actions; else the failure the orchestration ends with.
 */
export async function callOrchestrator(
  handler: CoreCallback,
  context: InvocationContext,
  name: string,
  call: { history: HistoryEvent[]; input: string | null; instanceId: string; isReplaying: boolean },
): Promise<{ state: OrchestratorStateWire; actions: ActionWire[] } | { failure: string; state?: OrchestratorStateWire }> {
  const payload = JSON.parse(
    JSON.stringify({
      history: call.history,
      input: parseJson(call.input),
      instanceId: call.instanceId,
      isReplaying: call.isReplaying,
      parentInstanceId: null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 2,
      longRunningTimerIntervalDuration: durationString(LONG_RUNNING_TIMER_INTERVAL_MS),
      maximumShortTimerDuration: durationString(MAXIMUM_SHORT_TIMER_MS),
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    }),
  ) as unknown;
  const { state, failure } = await stateOf(() => handler(payload, context));
  if (!state || typeof state !== 'object') return { failure: `Orchestrator function '${name}' failed: ${failure ?? 'Out of proc orchestrators must return a valid JSON schema'}` };
  if ((state.actions?.length ?? 0) > 1) {
    return { failure: `With OOProc schema V3, expected actions array to be of length 1 in outer layer but got size: ${state.actions?.length}`, state };
  }
  return { state, actions: (state.actions ?? [])[0] ?? [] };
}

async function stateOf(call: () => unknown): Promise<{ state?: OrchestratorStateWire; failure?: string }> {
  try {
    const answer = await call();
    return { state: JSON.parse(JSON.stringify(answer ?? null)) as OrchestratorStateWire | undefined };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = message.indexOf(OUT_OF_PROC_DATA);
    if (at < 0) return { failure: message };
    try {
      return { state: JSON.parse(message.slice(at + OUT_OF_PROC_DATA.length)) as OrchestratorStateWire };
    } catch {
      return { failure: message.slice(0, at) };
    }
  }
}

/** Calls an activity with its input: its output as JSON text, or the TaskFailed reason and details. */
export async function callActivity(handler: CoreCallback, context: InvocationContext, name: string, input: string | null): Promise<{ output: string } | { reason: string; details: string }> {
  try {
    const result = await handler(parseJson(input), context);
    return { output: JSON.stringify(result ?? null) };
  } catch (err) {
    const [reason, details] = activityFailure(name, err);
    return { reason, details };
  }
}

/**
 * How an activity's exception reaches the orchestrator, as in Azure: the worker reports its
 * message, the host wraps it in an RpcException ("Result: Failure\nException: <message>\nStack:
 * <stack>"), the extension takes the text between the labels (the "friendly message", with its
 * leading space) and records TaskFailed with Reason "Activity function '<name>' failed: <friendly>"
 * and Details the serialised .NET exception. durable-functions throws Error(`${Reason} \n ${Details}`).
 */
function activityFailure(name: string, err: unknown): [reason: string, details: string] {
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  const rpcMessage = `Result: Failure\nException: ${message}\nStack: ${stack}`;
  const friendly = rpcMessage.slice(rpcMessage.indexOf('\nException:') + '\nException:'.length, rpcMessage.indexOf('\nStack:'));
  const exception = (className: string, text: string, inner: unknown) => ({
    ClassName: className,
    Message: text,
    Data: null,
    InnerException: inner,
    HelpURL: null,
    StackTraceString: null,
    RemoteStackTraceString: null,
    RemoteStackIndex: 0,
    ExceptionMethod: null,
    HResult: -2146233088,
    Source: null,
    WatsonBuckets: null,
  });
  const details = JSON.stringify(exception('System.Exception', friendly, exception('Microsoft.Azure.WebJobs.Script.Workers.Rpc.RpcException', rpcMessage, null)));
  return [`Activity function '${name}' failed: ${friendly}`, details];
}

/** An input or result as the worker gets it: JSON when it parses, else the text; null for none. */
function parseJson(text: string | null): unknown {
  if (text === null || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** What `df.getClient(context)` reads: the durableClient binding's data, as the extension serialises it. */
export interface DurableClientData {
  taskHubName: string;
  connectionName: null;
  creationUrls: { createNewInstancePostUri: string; createAndWaitOnNewInstancePostUri: string };
  managementUrls: Record<string, string>;
  baseUrl: string;
  requiredQueryStringParameters: string;
  rpcBaseUrl: string;
  httpBaseUrl: null;
}

/** The placeholder the extension puts in managementUrls. */
const INSTANCE_ID_PLACEHOLDER = 'INSTANCEID';

/** The durableClient input binding's value (BindingHelper.DurableOrchestrationClientToString). */
export function clientData(hub: { webhookBaseUrl: string; rpcBaseUrl: string; taskHubName: string; systemKey: string }): DurableClientData {
  const base = hub.webhookBaseUrl;
  const management = managementUrls(base, INSTANCE_ID_PLACEHOLDER, hub.taskHubName, hub.systemKey);
  const instancePrefix = `${base}/orchestrators/{functionName}[/{instanceId}]`;
  const code = `code=${encodeURIComponent(hub.systemKey)}`;
  return {
    taskHubName: hub.taskHubName,
    connectionName: null,
    creationUrls: {
      createNewInstancePostUri: `${instancePrefix}?${code}`,
      createAndWaitOnNewInstancePostUri: `${instancePrefix}?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${code}`,
    },
    managementUrls: { id: INSTANCE_ID_PLACEHOLDER, ...management },
    baseUrl: base,
    requiredQueryStringParameters: code,
    rpcBaseUrl: hub.rpcBaseUrl,
    httpBaseUrl: null,
  };
}

/** The management URLs the extension hands out: under the host's webhook path, with the system key (`code`). */
export function managementUrls(base: string, instanceId: string, taskHub: string, systemKey: string) {
  const instancePrefix = `${base}/instances/${encodeURIComponent(instanceId)}`;
  const query = `taskHub=${encodeURIComponent(taskHub)}&connection=Storage&code=${encodeURIComponent(systemKey)}`;
  return {
    statusQueryGetUri: `${instancePrefix}?${query}`,
    sendEventPostUri: `${instancePrefix}/raiseEvent/{eventName}?${query}`,
    terminatePostUri: `${instancePrefix}/terminate?reason={text}&${query}`,
    rewindPostUri: `${instancePrefix}/rewind?reason={text}&${query}`,
    purgeHistoryDeleteUri: `${instancePrefix}?${query}`,
    restartPostUri: `${instancePrefix}/restart?${query}`,
    suspendPostUri: `${instancePrefix}/suspend?reason={text}&${query}`,
    resumePostUri: `${instancePrefix}/resume?reason={text}&${query}`,
  };
}
