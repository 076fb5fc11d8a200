// History events as the Durable Functions extension hands them to an out-of-process orchestrator:
// DurableTask.Core's HistoryEvent classes serialised by Newtonsoft with default settings (PascalCase
// properties, enums as numbers). durable-functions reads EventType, Timestamp, IsPlayed and the
// type's own fields (TaskScheduledId, TimerId, Name, Input, Result, Reason, Details...).

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;
export type EventTypeNumber = (typeof EventType)[keyof typeof EventType];
export const EVENT_TYPE_NAMES = Object.fromEntries(Object.entries(EventType).map(([k, v]) => [v, k])) as Record<number, string>;

/** DurableTask.Core.OrchestrationStatus, as stored in ExecutionCompleted events. */
export const OrchestrationStatus = {
  Running: 0,
  Completed: 1,
  ContinuedAsNew: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  Pending: 6,
  Suspended: 7,
} as const;
export const ORCHESTRATION_STATUS_NAMES = Object.fromEntries(Object.entries(OrchestrationStatus).map(([k, v]) => [v, k])) as Record<number, string>;

export type RuntimeStatus = 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Pending' | 'Suspended';
export const RUNTIME_STATUSES: readonly RuntimeStatus[] = ['Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Canceled', 'Terminated', 'Pending', 'Suspended'];
/** States in which an instance still has work (and a start with its id is refused). */
export const ACTIVE_STATUSES: readonly RuntimeStatus[] = ['Running', 'Pending', 'ContinuedAsNew', 'Suspended'];

export interface HistoryEvent {
  EventType: EventTypeNumber;
  /** The task or timer id for TaskScheduled/TimerCreated (the orchestration's sequence number); -1 otherwise. */
  EventId: number;
  /** True for events of earlier episodes, false for those new in this one. */
  IsPlayed: boolean;
  /** ISO 8601, UTC. */
  Timestamp: string;
  [field: string]: unknown;
}

function base(type: EventTypeNumber, at: number, eventId = -1): HistoryEvent {
  return { EventId: eventId, IsPlayed: false, Timestamp: new Date(at).toISOString(), EventType: type };
}

export const events = {
  orchestratorStarted: (at: number): HistoryEvent => base(EventType.OrchestratorStarted, at),
  orchestratorCompleted: (at: number): HistoryEvent => base(EventType.OrchestratorCompleted, at),
  executionStarted: (at: number, o: { instanceId: string; executionId: string; name: string; input: string | null }): HistoryEvent => ({
    ...base(EventType.ExecutionStarted, at),
    OrchestrationInstance: { InstanceId: o.instanceId, ExecutionId: o.executionId },
    ParentInstance: null,
    Name: o.name,
    Version: '',
    Input: o.input,
    Tags: null,
  }),
  executionCompleted: (at: number, status: number, result: string | null): HistoryEvent => ({
    ...base(status === OrchestrationStatus.ContinuedAsNew ? EventType.ContinueAsNew : EventType.ExecutionCompleted, at),
    OrchestrationStatus: status,
    Result: result,
    FailureDetails: null,
  }),
  executionTerminated: (at: number, reason: string | null): HistoryEvent => ({ ...base(EventType.ExecutionTerminated, at), Input: reason }),
  taskScheduled: (at: number, id: number, name: string, input: string | null): HistoryEvent => ({
    ...base(EventType.TaskScheduled, at, id),
    Name: name,
    Version: '',
    Input: input,
  }),
  taskCompleted: (at: number, taskScheduledId: number, result: string | null): HistoryEvent => ({
    ...base(EventType.TaskCompleted, at),
    TaskScheduledId: taskScheduledId,
    Result: result,
  }),
  taskFailed: (at: number, taskScheduledId: number, reason: string, details: string): HistoryEvent => ({
    ...base(EventType.TaskFailed, at),
    TaskScheduledId: taskScheduledId,
    Reason: reason,
    Details: details,
    FailureDetails: null,
  }),
  timerCreated: (at: number, id: number, fireAt: string): HistoryEvent => ({ ...base(EventType.TimerCreated, at, id), FireAt: fireAt }),
  timerFired: (at: number, timerId: number, fireAt: string): HistoryEvent => ({ ...base(EventType.TimerFired, at), TimerId: timerId, FireAt: fireAt }),
  eventRaised: (at: number, name: string, input: string | null): HistoryEvent => ({ ...base(EventType.EventRaised, at), Name: name, Input: input }),
};

/**
 * The history as the HTTP API shows it with `showHistory=true` (the extension's DurableClient
 * GetStatusAsync): event types by name, OrchestratorStarted/Completed and TaskScheduled rows folded
 * away (a completion carries its FunctionName and ScheduledTime), EventId/IsPlayed dropped,
 * results only with `showHistoryOutput`, inputs only with `showInput`.
 */
export function historyForStatus(history: HistoryEvent[], showHistoryOutput: boolean, showInput: boolean): Record<string, unknown>[] {
  const scheduled = new Map<number, { index: number; name: unknown; at: unknown; input: unknown }>();
  const drop = new Set<number>();
  const out = history.map((event, i) => {
    const item: Record<string, unknown> = { ...event, EventType: EVENT_TYPE_NAMES[event.EventType] ?? event.EventType };
    switch (event.EventType) {
      case EventType.TaskScheduled:
        scheduled.set(event.EventId, { index: i, name: event.Name, at: event.Timestamp, input: event.Input });
        delete item.Version;
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed: {
        const s = scheduled.get(event.TaskScheduledId as number);
        if (s) {
          item.ScheduledTime = s.at;
          item.FunctionName = s.name;
          if (showInput) item.Input = s.input;
          drop.add(s.index);
        }
        delete item.TaskScheduledId;
        if (event.EventType === EventType.TaskCompleted) {
          if (!showHistoryOutput) delete item.Result;
          else item.Result = parseJsonOrText(event.Result as string | null);
        }
        break;
      }
      case EventType.ExecutionStarted:
        item.FunctionName = event.Name;
        delete item.Name;
        delete item.OrchestrationInstance;
        delete item.ParentInstance;
        delete item.Version;
        delete item.Tags;
        break;
      case EventType.ExecutionCompleted:
      case EventType.ContinueAsNew:
        item.OrchestrationStatus = ORCHESTRATION_STATUS_NAMES[event.OrchestrationStatus as number] ?? event.OrchestrationStatus;
        if (!showHistoryOutput) delete item.Result;
        else item.Result = parseJsonOrText(event.Result as string | null);
        break;
      case EventType.TimerFired:
        delete item.TimerId;
        break;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        drop.add(i);
        break;
    }
    if (!showInput) delete item.Input;
    delete item.EventId;
    delete item.IsPlayed;
    return item;
  });
  return out.filter((_, i) => !drop.has(i));
}

/** The extension's ParseToJToken: JSON when it parses, the text itself otherwise, null for null. */
export function parseJsonOrText(value: string | null | undefined): unknown {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed.length === 0) return '';
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return value;
  }
}
