import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { KeyedLock } from '../../shared/store/keyedLock';
import type { InvocationContext } from '@azure/functions';
import type { BindingInfo, Registration } from '../host/coreApi';
import { consoleLog, invocationContext, type HostLog } from '../host/invocation';
import { openRpcEndpoint, serveDurableApi, type ClientOutcome, type RpcEndpoint } from './api';
import { systemClock, type DurableClock } from './clock';
import { DurableArgumentError, DurableInvalidOperationError, InstanceAlreadyExistsError } from './errors';
import { ACTIVE_STATUSES, EventType, events, OrchestrationStatus, type HistoryEvent, type RuntimeStatus } from './history';
import { replay, type Decision } from './replay';
import { DurableSizeError, DurableStore, type InstanceQuery, type InstanceRow, type Message, type StoreOptions } from './store';
import { callActivity, callOrchestrator, clientData, type DurableClientData, type OrchestratorStateWire } from './wire';

// The part of the Durable Functions extension the local host needs (see docs/local-host.md,
// "Durable functions"). It runs the app's own handlers, registered with df.app.orchestration /
// df.app.activity through @azure/functions-core, the way the extension and the Node worker do:
// orchestrators get the orchestration context payload (history in) and answer with their state
// (actions out); activities get their input (that exchange: wire.ts). It keeps instances, history
// and pending messages in Table Storage (store.ts), and opens the RPC endpoint where api.ts serves
// the HTTP API that DurableClient calls through the client data's rpcBaseUrl.

export interface DurableDriverOptions {
  /** What the app registered (`installCoreApi(...).registrations`); read when needed, so later registrations count. */
  registrations: Registration[];
  storage: StoreOptions;
  /** Defaults to the system clock. */
  clock?: DurableClock;
  /** Loopback port of the RPC endpoint: default 17071 as the extension, any free port if taken; 0 for any. */
  rpcPort?: number;
  /** Where the functions host serves the webhook API (…/runtime/webhooks/durabletask); default: this driver's own server. */
  webhookBaseUrl?: string;
  taskHubName?: string;
  /** Activities running at once (the extension's maxConcurrentActivityFunctions: 10 × processors). */
  maxConcurrentActivities?: number;
  /**
   * How long after it was sent, on the driver's clock, a client's message (a start, a raised event,
   * a termination) reaches its instance; 0 (the default) at once. In Azure the message waits in a
   * control queue until the next poll, which backs off to `maxQueuePollingInterval` (30 s) while
   * the app is idle (DurableTask.AzureStorage `ControlQueue`, `BackoffPollingHelper`).
   */
  clientMessageDelayMs?: number;
  log?: HostLog;
}

interface Live {
  id: string;
  row: InstanceRow;
  /** Committed events of the current execution. */
  history: HistoryEvent[];
  messages: Message[];
  timers: Map<number, () => void>;
  /** Bumped whenever the execution ends or is replaced: results of older activities and timers are ignored. */
  generation: number;
  episodeQueued: boolean;
  /** An episode is between taking its batch and storing its outcome. */
  inEpisode: boolean;
  gone: boolean;
  /** The instance's rows were purged; its queued messages live on (see `purge`). */
  purged: boolean;
  /** Purges so far: an episode that sees this change under it was purged in flight. */
  purges: number;
  /** An episode of the instance has been stored since it was created or purged (Azure's history sentinel row exists). */
  checkpointed: boolean;
}

/** continueAsNew loops run in one episode (see `continueAsNew`) at most this many times. */
const MAX_EXECUTIONS_PER_EPISODE = 1000;
/** The statuses the Azure Storage provider's purge by filter honours. */
const PURGEABLE_STATUSES: readonly RuntimeStatus[] = ['Completed', 'Terminated', 'Canceled', 'Failed'];
const DEFAULT_RPC_PORT = 17071;
const DEFAULT_TASK_HUB = 'TestHubName';
/** Instances loaded at once when the driver takes up what was running. */
const RESUME_CONCURRENCY = 8;
const MAX_INSTANCE_ID_LENGTH = 256;

export class DurableDriver {
  readonly clock: DurableClock;
  readonly taskHubName: string;
  /** This run's key for the webhook routes (the host's system key `durabletask_extension` in Azure). */
  readonly systemKey = randomBytes(32).toString('base64url');
  private readonly store: DurableStore;
  private readonly live = new Map<string, Live>();
  /** One task at a time per instance: episodes, deliveries, starts and purges never overlap. */
  private readonly lock = new KeyedLock();
  private endpoint?: RpcEndpoint;
  private stopping = false;
  private started = false;
  private resuming?: Promise<void>;
  private activitySlots: number;
  private readonly activityQueue: Array<() => void> = [];
  private readonly clientMessageDelayMs: number;
  /** Cancels the pickups of client messages not yet visible. */
  private readonly pickups = new Set<() => void>();
  private readonly log: HostLog;

  constructor(private readonly options: DurableDriverOptions) {
    this.clock = options.clock ?? systemClock;
    this.taskHubName = options.taskHubName ?? DEFAULT_TASK_HUB;
    this.store = new DurableStore({ log: (message) => this.log('warning', message), ...options.storage });
    this.activitySlots = options.maxConcurrentActivities ?? 10 * availableParallelism();
    this.clientMessageDelayMs = options.clientMessageDelayMs ?? 0;
    if (!(this.clientMessageDelayMs >= 0)) throw new RangeError('clientMessageDelayMs must not be negative.');
    this.log = options.log ?? consoleLog('[durable] ');
  }

  /**
   * Creates the tables and opens the RPC endpoint, then takes up every instance that was running
   * in the background (`resumed` settles when done): as the extension in Azure serves while its
   * orchestrations are picked up, and an instance a client touches first is loaded then. Before,
   * a host on storage with hundreds of running instances said nothing until it had loaded them
   * all, one after another: seconds on a busy machine.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('The durable driver is already started.');
    this.started = true;
    // Every storage request has a timeout (the store's clients); this says what start waited for.
    await this.store.ensureTables().catch((err: unknown) => {
      throw new Error(`durable driver: could not create its tables ${this.store.instances.tableName} and ${this.store.history.tableName}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    });
    this.endpoint = await openRpcEndpoint(this, this.options.rpcPort ?? DEFAULT_RPC_PORT);
    this.resuming = this.resume();
  }

  /** Settles once the instances running at start are taken up (or the attempt failed, and said so). */
  get resumed(): Promise<void> {
    return this.resuming ?? Promise.resolve();
  }

  private async resume(): Promise<void> {
    const started = Date.now();
    let resumed = 0;
    const rows = this.store.allInstances({ runtimeStatus: [...ACTIVE_STATUSES] });
    const worker = async () => {
      // Concurrent next() calls on one async generator are queued: each row goes to one worker.
      for (let next = await rows.next(); !next.done && !this.stopping; next = await rows.next()) {
        const id = next.value.instanceId;
        await this.serial(id, async () => {
          if (this.live.has(id) || this.stopping) return;
          await this.load(id);
          resumed++;
        }).catch((err: unknown) => this.log('error', `could not resume instance ${id}: ${err instanceof Error ? err.message : String(err)}`));
      }
    };
    try {
      await Promise.all(Array.from({ length: RESUME_CONCURRENCY }, worker));
    } catch (err) {
      this.log('error', `could not list the running instances in ${this.store.instances.tableName}: ${err instanceof Error ? err.message : String(err)}; each is taken up when a client touches it`);
    }
    if (resumed) this.log('information', `resumed ${resumed} orchestration instance(s) in ${Date.now() - started} ms`);
  }

  /** Stops taking work: closes the endpoint, disarms timers, lets running episodes finish. Activities still running are abandoned (they run again on the next start). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const live of this.live.values()) this.disarm(live);
    for (const cancel of this.pickups) cancel();
    this.pickups.clear();
    await this.endpoint?.close();
    await this.lock.idle();
    for (const waiter of this.activityQueue.splice(0)) waiter();
  }

  /** The extension's local RPC endpoint, e.g. http://127.0.0.1:17071/durabletask/ */
  get rpcBaseUrl(): string {
    return this.endpoint?.baseUrl ?? '';
  }

  get webhookBaseUrl(): string {
    return (this.options.webhookBaseUrl ?? `${new URL(this.rpcBaseUrl).origin}/runtime/webhooks/durabletask`).replace(/\/+$/, '');
  }

  /** The durableClient input binding's value (BindingHelper.DurableOrchestrationClientToString). */
  clientData(): DurableClientData {
    return clientData(this);
  }

  /** Values for extra input bindings the driver provides (durableClient, orchestrationClient), by binding type. */
  extraInput(binding: BindingInfo): unknown {
    const type = binding.type.toLowerCase();
    return type === 'durableclient' || type === 'orchestrationclient' ? this.clientData() : undefined;
  }

  /** Serves the RPC (/durabletask/…) and webhook (/runtime/webhooks/durabletask/…) HTTP API; false for any other path. */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean {
    return serveDurableApi(this, req, res);
  }

  // ---- client operations (the HTTP API calls these)

  orchestratorNames(): string[] {
    return this.functionsOf('orchestrationtrigger').map((r) => r.metadata.name);
  }

  /** StartNewAsync: refuses an id whose instance is Pending/Running, replaces a finished one. */
  async startNew(name: string, instanceId: string | undefined, input: string | null): Promise<string> {
    if (!this.findFunction('orchestrationtrigger', name)) {
      const known = this.orchestratorNames();
      throw new DurableArgumentError(
        `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Additional info: ${
          known.length ? `The following are the known orchestrator functions: '${known.join("', '")}'.` : 'No orchestrator functions are currently registered!'
        }`,
      );
    }
    const id = instanceId || randomUUID().replace(/-/g, '');
    if (id.startsWith('@')) throw new DurableArgumentError('Orchestration instance ids must not start with @.');
    // eslint-disable-next-line no-control-regex -- the Durable extension rejects control characters in ids
    if (/[/\\?#\u0000-\u001f\u007f-\u009f]/.test(id)) throw new DurableArgumentError('Orchestration instance ids must not contain /, \\, #, ?, or control characters.');
    if (id.length > MAX_INSTANCE_ID_LENGTH) throw new DurableArgumentError(`Instance ID lengths must not exceed ${MAX_INSTANCE_ID_LENGTH} characters.`);
    this.ensureRunning();
    await this.serial(id, async () => {
      const existing = await this.getInstance(id);
      if (existing && ACTIVE_STATUSES.includes(existing.runtimeStatus)) {
        throw new InstanceAlreadyExistsError(`An Orchestration instance with the status ${existing.runtimeStatus} already exists.`);
      }
      const old = this.live.get(id);
      // Messages still queued for the id (a termination sent before a purge…) stay queued: in Azure
      // they sit in the control queue and reach whichever execution runs next.
      const queued = old && !old.gone ? old.messages.filter((m) => m.kind === 'event') : [];
      if (old) this.forget(old);
      const now = this.clock.now();
      const executionId = newExecutionId();
      const row: InstanceRow = {
        instanceId: id,
        name,
        runtimeStatus: 'Pending',
        executionId: existing?.executionId ?? executionId,
        createdTime: now,
        lastUpdatedTime: now,
        input,
        output: null,
        customStatus: null,
      };
      const message: Message = this.fromClient(id, { key: this.store.newMessageKey(), kind: 'start', executionId, name, input });
      // The message first: an instance row never points at a start that was not recorded.
      await this.store.addMessage(id, message);
      await this.store.putInstance(row);
      const live = this.track(row, [], existing !== undefined);
      live.messages.push(...queued, message);
      this.kick(live);
    });
    return id;
  }

  async getInstance(instanceId: string): Promise<InstanceRow | undefined> {
    const live = this.live.get(instanceId);
    return live && !live.purged ? live.row : this.store.getInstance(instanceId);
  }

  /** The current execution's committed history. */
  async getHistory(row: InstanceRow): Promise<HistoryEvent[]> {
    const live = this.live.get(row.instanceId);
    if (live && !live.purged) return live.history;
    return (await this.store.readHistory(row.instanceId, row.executionId)).events;
  }

  queryInstances(query: InstanceQuery, pageSize: number, continuationToken?: string): ReturnType<DurableStore['queryInstances']> {
    return this.store.queryInstances(query, pageSize, continuationToken);
  }

  /** RaiseEventAsync; `data` is JSON text. */
  async raiseEvent(instanceId: string, eventName: string, data: string | null): Promise<ClientOutcome> {
    return this.deliverClientEvent(instanceId, events.eventRaised(this.clock.now(), eventName, data));
  }

  /** TerminateAsync. */
  async terminate(instanceId: string, reason: string | null): Promise<ClientOutcome> {
    return this.deliverClientEvent(instanceId, events.executionTerminated(this.clock.now(), reason));
  }

  /**
   * PurgeInstanceHistoryAsync of one instance. Refused unless the instance has ended, as the
   * extension does since it checks the runtime status first (azure-functions-durable-extension
   * PR #3311; the JS client then rejects); older extensions purged it anyway, see `purgeRows`.
   */
  async purge(instanceId: string): Promise<boolean> {
    const row = await this.getInstance(instanceId);
    if (!row) return false;
    if (!PURGEABLE_STATUSES.includes(row.runtimeStatus)) {
      throw new DurableInvalidOperationError(
        `Orchestration instance '${instanceId}' is ${row.runtimeStatus}: only an instance that has ended (${PURGEABLE_STATUSES.join(', ')}) can be purged. Terminate it, and purge it once it reads Terminated.`,
      );
    }
    return this.purgeRows(instanceId);
  }

  /**
   * Purges as the Azure Storage provider does (AzureTableTrackingStore): deletes the instance row
   * and the history at once, whatever the instance's status, without waiting for an episode in
   * flight. What is queued for the instance is not touched: queued messages (a termination,
   * events, activity results, timers) arrive later and, with no history to apply to, are
   * discarded; an episode in flight stores its outcome as if nothing happened (the first episode
   * of an instance writes its rows back; a later one fails on the history's ETag, after its
   * activities were already sent).
   */
  private async purgeRows(instanceId: string): Promise<boolean> {
    const live = this.live.get(instanceId);
    if (live && !live.gone) {
      live.purges++;
      live.purged = true;
      live.checkpointed = false;
      live.history = [];
      // Results of its activities and timers find no history: discarded.
      this.disarm(live);
      live.generation++;
      if (!live.inEpisode && !live.messages.length) this.forget(live);
    }
    return this.store.purge(instanceId);
  }

  /**
   * Purge by filter, as AzureTableTrackingStore.PurgeInstanceHistoryAsync filters: of the statuses
   * asked for, only Completed, Terminated, Canceled and Failed count, and when none is left the
   * status does not filter at all (every instance in the time range goes, running or not).
   */
  async purgeBy(query: InstanceQuery): Promise<number> {
    const terminal = (query.runtimeStatus ?? []).filter((s) => PURGEABLE_STATUSES.includes(s));
    const { runtimeStatus: _asked, ...rest } = query;
    const filter: InstanceQuery = terminal.length ? { ...rest, runtimeStatus: terminal } : rest;
    const ids: string[] = [];
    for await (const row of this.store.allInstances(filter)) ids.push(row.instanceId);
    let deleted = 0;
    for (const id of ids) if (await this.purgeRows(id)) deleted++;
    return deleted;
  }

  // ---- instances in memory

  private ensureRunning(): void {
    if (!this.started || this.stopping) throw new Error('The durable driver is not running.');
  }

  /** Runs one task at a time per instance: episodes, deliveries, starts and purges never overlap. */
  private serial<T>(instanceId: string, task: () => Promise<T>): Promise<T> {
    return this.lock.run(instanceId, task);
  }

  private track(row: InstanceRow, history: HistoryEvent[], checkpointed: boolean): Live {
    const live: Live = {
      id: row.instanceId,
      row,
      history,
      messages: [],
      timers: new Map(),
      generation: 0,
      episodeQueued: false,
      inEpisode: false,
      gone: false,
      purged: false,
      purges: 0,
      checkpointed,
    };
    this.live.set(row.instanceId, live);
    return live;
  }

  private forget(live: Live): void {
    this.disarm(live);
    live.generation++;
    live.gone = true;
    if (this.live.get(live.id) === live) this.live.delete(live.id);
  }

  private disarm(live: Live): void {
    for (const cancel of live.timers.values()) cancel();
    live.timers.clear();
  }

  /** Loads an instance after a restart: drops a torn episode, resumes its activities and timers, runs pending messages. */
  private async load(instanceId: string): Promise<void> {
    const row = await this.store.getInstance(instanceId);
    if (!row) return;
    const [stored, messages, executions] = await Promise.all([this.store.readHistory(instanceId, row.executionId), this.store.readMessages(instanceId), this.store.historyExecutions(instanceId)]);
    if (stored.torn.length) await this.store.deleteRows(instanceId, stored.torn);
    const consumed = messages.filter((m) => stored.consumed.has(m.key));
    if (consumed.length)
      await this.store.deleteRows(
        instanceId,
        consumed.map((m) => m.key),
      );
    for (const other of executions) if (other !== row.executionId) await this.store.deleteExecution(instanceId, other);
    const live = this.track(
      row,
      stored.events.map((e) => ({ ...e, IsPlayed: true })),
      stored.events.length > 0 || executions.size > 0 || row.runtimeStatus !== 'Pending',
    );
    live.messages = messages.filter((m) => !stored.consumed.has(m.key));
    // An episode that committed its history but not the instance row: the history decides
    // (unless a new execution is about to replace this one).
    const end = live.history.find((e) => e.EventType === EventType.ExecutionCompleted);
    if (end && !live.messages.some((m) => m.kind === 'start')) {
      row.runtimeStatus = statusFromEnd(end.OrchestrationStatus as number);
      row.output = (end.Result as string | null) ?? null;
      await this.store.putInstance(row);
      this.forget(live);
      return;
    }
    if (row.runtimeStatus !== 'Pending' || live.history.length) this.resumeWork(live, live.history, live.messages);
    if (live.messages.length) this.kick(live);
  }

  /** Runs activities scheduled without a result yet, and arms timers that have not fired. */
  private resumeWork(live: Live, history: HistoryEvent[], pending: Message[]): void {
    const done = new Set<number>();
    const fired = new Set<number>();
    for (const e of [...history, ...pending.flatMap((m) => (m.kind === 'event' ? [m.event] : []))]) {
      if (e.EventType === EventType.TaskCompleted || e.EventType === EventType.TaskFailed) done.add(e.TaskScheduledId as number);
      if (e.EventType === EventType.TimerFired) fired.add(e.TimerId as number);
    }
    for (const e of history) {
      if (e.EventType === EventType.TaskScheduled && !done.has(e.EventId)) {
        this.dispatch(live, { kind: 'task', id: e.EventId, name: String(e.Name), input: (e.Input as string | null) ?? null });
      }
      if (e.EventType === EventType.TimerCreated && !fired.has(e.EventId)) this.dispatch(live, { kind: 'timer', id: e.EventId, fireAt: String(e.FireAt) });
    }
  }

  /**
   * RaiseEventAsync/TerminateAsync as the extension does them: read the status, then put a message
   * on the instance's queue. An episode in flight does not hold the caller up, and nothing changes
   * until an episode takes the message (a terminated instance reads Running until then).
   */
  private async deliverClientEvent(instanceId: string, event: HistoryEvent): Promise<ClientOutcome> {
    this.ensureRunning();
    const known = this.live.get(instanceId);
    if (known && !known.gone && !known.purged) {
      if (!ACTIVE_STATUSES.includes(known.row.runtimeStatus)) return 'gone';
      const message: Message = this.fromClient(instanceId, { key: this.store.newMessageKey(), kind: 'event', executionId: null, event });
      await this.store.addMessage(instanceId, message);
      if (!known.gone) {
        known.messages.push(message);
        this.kick(known);
      } else {
        // It finished (and was let go) while the message was being stored.
        await this.serial(instanceId, () => this.adopt(instanceId, message));
      }
      return 'accepted';
    }
    return this.serial(instanceId, async () => {
      let live = this.live.get(instanceId);
      const row = live?.row ?? (await this.store.getInstance(instanceId));
      if (!row) return 'notFound';
      if (!ACTIVE_STATUSES.includes(row.runtimeStatus)) return 'gone';
      if (!live) {
        // Running in storage but not here (written by another host on this storage): take it up.
        await this.load(instanceId);
        live = this.live.get(instanceId);
        if (!live) return 'gone';
      }
      const message: Message = this.fromClient(instanceId, { key: this.store.newMessageKey(), kind: 'event', executionId: null, event });
      await this.store.addMessage(instanceId, message);
      live.messages.push(message);
      this.kick(live);
      return 'accepted';
    });
  }

  /**
   * A message a client sends, visible to its instance `clientMessageDelayMs` later (the next
   * control-queue poll in Azure); the instance is kicked then. Until then episodes leave it queued.
   */
  private fromClient(instanceId: string, message: Message): Message {
    if (this.clientMessageDelayMs === 0) return message;
    message.visibleAt = this.clock.now() + this.clientMessageDelayMs;
    const cancel = this.clock.schedule(message.visibleAt, () => {
      this.pickups.delete(cancel);
      const live = this.live.get(instanceId);
      if (live && !live.gone && live.messages.includes(message)) this.kick(live);
    });
    this.pickups.add(cancel);
    return message;
  }

  private visible(message: Message): boolean {
    return message.visibleAt === undefined || message.visibleAt <= this.clock.now();
  }

  /** A stored client message whose instance was let go meanwhile: to the instance if it runs again, else discarded. */
  private async adopt(instanceId: string, message: Message): Promise<void> {
    const live = this.live.get(instanceId);
    if (live && !live.gone) {
      if (!live.messages.some((m) => m.key === message.key)) live.messages.push(message);
      this.kick(live);
      return;
    }
    const row = await this.store.getInstance(instanceId);
    if (row && ACTIVE_STATUSES.includes(row.runtimeStatus)) await this.load(instanceId);
    else await this.store.deleteRows(instanceId, [message.key]);
  }

  /** An activity result or a timer firing, for the execution (generation) that asked for it. */
  private deliver(live: Live, generation: number, event: HistoryEvent): void {
    void this.serial(live.id, async () => {
      if (this.stopping || live.gone || live.generation !== generation) return;
      const message: Message = { key: this.store.newMessageKey(), kind: 'event', executionId: live.row.executionId, event };
      try {
        await this.store.addMessage(live.id, message);
      } catch (err) {
        if (!(err instanceof DurableSizeError) || event.EventType !== EventType.TaskCompleted) throw err;
        message.event = events.taskFailed(event.Timestamp ? Date.parse(event.Timestamp) : this.clock.now(), event.TaskScheduledId as number, err.message, '');
        await this.store.addMessage(live.id, message);
      }
      live.messages.push(message);
      this.kick(live);
    }).catch((err: unknown) => this.log('error', `instance '${live.id}': could not record a result: ${describe(err)}`));
  }

  private kick(live: Live): void {
    if (live.episodeQueued || this.stopping) return;
    live.episodeQueued = true;
    void this.serial(live.id, async () => {
      live.episodeQueued = false;
      if (live.gone || this.stopping) return;
      live.inEpisode = true;
      try {
        await this.episode(live);
      } finally {
        live.inEpisode = false;
      }
      if (live.purged && !live.messages.length) this.forget(live);
      if (!live.gone && live.messages.some((m) => this.visible(m))) this.kick(live);
    }).catch((err: unknown) => {
      if (err instanceof DurableSizeError) {
        // Retrying would fail the same way; the messages stay and are tried again with the next one.
        this.log('error', `instance '${live.id}': ${err.message}`);
        return;
      }
      this.log('error', `instance '${live.id}': episode failed, retrying in 1 s: ${describe(err)}`);
      setTimeout(() => this.kick(live), 1000).unref();
    });
  }

  // ---- episodes

  /** One orchestrator episode over every pending message: history in, actions out, then persist and dispatch. */
  private async episode(live: Live): Promise<void> {
    const batch = live.messages.filter((m) => this.visible(m)).sort((a, b) => (a.kind === b.kind ? (a.key < b.key ? -1 : 1) : a.kind === 'start' ? -1 : 1));
    if (!batch.length) return;
    const now = this.clock.now();
    const purges = live.purges;
    const checkpointed = live.checkpointed;
    const row: InstanceRow = { ...live.row };
    let past = live.history;
    let replaced: string | undefined;
    const start = batch.filter((m): m is Extract<Message, { kind: 'start' }> => m.kind === 'start').pop();
    if (start) {
      if (start.executionId !== row.executionId || past.length) replaced = row.executionId;
      Object.assign(row, { executionId: start.executionId, name: start.name, input: start.input, runtimeStatus: 'Pending', output: null });
      if (live.purged) row.createdTime = now;
      past = [];
    }
    const consumedKeys = batch.map((m) => m.key);
    const finishBatch = async () => {
      await this.store.deleteRows(live.id, consumedKeys);
      live.messages = live.messages.filter((m) => !consumedKeys.includes(m.key));
    };
    if (live.purged && !start) {
      // AzureStorageOrchestrationService.IsExecutableInstanceAsync: messages for an instance with
      // no history are discarded ("No such instance"). A termination first tries to mark the
      // instance row Terminated, which fails on the purged row; Azure retries that message.
      if (batch.some((m) => m.kind === 'event' && m.event.EventType === EventType.ExecutionTerminated)) {
        this.log('error', `instance '${live.id}': a termination reached it after its purge and was dropped (in Azure the message fails and is retried: purge only finished instances)`);
      }
      await finishBatch();
      return;
    }
    if (!ACTIVE_STATUSES.includes(row.runtimeStatus)) {
      // Results for an instance that has finished: nothing listens any more.
      await finishBatch();
      if (!live.messages.length) this.forget(live);
      return;
    }
    const fresh: { event: HistoryEvent; messageKey?: string }[] = [{ event: events.orchestratorStarted(now) }];
    if (start) {
      fresh.push({ event: events.executionStarted(now, { instanceId: live.id, executionId: row.executionId, name: row.name, input: row.input }), messageKey: start.key });
    }
    let terminated: { reason: string | null } | undefined;
    for (const m of batch) {
      if (m.kind !== 'event') continue;
      if (m.executionId && m.executionId !== row.executionId) continue;
      fresh.push({ event: { ...m.event, IsPlayed: false }, messageKey: m.key });
      if (m.event.EventType === EventType.ExecutionTerminated) terminated ??= { reason: (m.event.Input as string | null) ?? null };
    }
    if (!past.length && !start && !terminated) {
      // Messages for an execution that never started (lost its start): drop them.
      await finishBatch();
      return;
    }
    const history = [...past, ...fresh.map((f) => f.event)];

    let outcome: Outcome;
    let customStatus: unknown;
    let decisions: Decision[] = [];
    if (terminated) {
      outcome = { status: 'Terminated', output: terminated.reason };
    } else {
      const result = await this.runOrchestrator(live.id, row, history, past.length > 0);
      customStatus = result.state?.customStatus;
      outcome = result.outcome;
      decisions = result.decisions;
    }

    if (live.purges !== purges && checkpointed) return this.discardPurged(live, finishBatch, outcome, decisions);

    if (outcome.status === 'ContinuedAsNew') {
      await this.continueAsNew(live, { now, row, past, fresh, batchKeys: consumedKeys, replaced, outcome, customStatus, purges, checkpointed, finishBatch });
      return;
    }

    let tail = closingEvents(now, outcome, decisions);
    try {
      await this.store.appendHistory(live.id, row.executionId, past.length, [...fresh, ...tail.map((event) => ({ event }))]);
    } catch (err) {
      // An output too large for a row fails the orchestration (Azure would keep it in a blob).
      if (!(err instanceof DurableSizeError)) throw err;
      outcome = { status: 'Failed', output: `Orchestrator function '${row.name}' failed: ${err.message}` };
      decisions = [];
      customStatus = undefined;
      tail = closingEvents(now, outcome, decisions);
      await this.store.appendHistory(live.id, row.executionId, past.length, [...fresh, ...tail.map((event) => ({ event }))]);
    }
    await finishBatch();
    if (replaced !== undefined && replaced !== row.executionId) await this.store.deleteExecution(live.id, replaced);

    recordOutcome(row, outcome, now, customStatus);
    await this.store.putInstance(row);

    if (start) {
      this.disarm(live);
      live.generation++;
    }
    this.settled(live, row, history.concat(tail), outcome, decisions);
  }

  /**
   * continueAsNew as DurableTask.Core's TaskOrchestrationDispatcher does it: the next execution's
   * first episode runs in the same work item, before any message queued meanwhile (a termination,
   * an event) is looked at, and only its state is stored (one checkpoint, the old execution's
   * history replaced). Events of the batch are not carried over.
   */
  /**
   * An instance purged while its episode ran: in Azure the activities and timers were sent first,
   * then the history write fails on its ETag (the sentinel row is gone) and the messages,
   * redelivered, find no history. Nothing is stored.
   */
  private async discardPurged(live: Live, finishBatch: () => Promise<void>, outcome: Outcome, decisions: Decision[]): Promise<void> {
    this.log('warning', `instance '${live.id}': purged while an episode ran; its outcome is discarded`);
    await finishBatch();
    if (outcome.status === 'Running') for (const d of decisions) this.dispatch(live, d);
  }

  private async continueAsNew(
    live: Live,
    done: {
      now: number;
      row: InstanceRow;
      past: HistoryEvent[];
      fresh: { event: HistoryEvent; messageKey?: string }[];
      batchKeys: string[];
      replaced: string | undefined;
      outcome: Extract<Outcome, { status: 'ContinuedAsNew' }>;
      customStatus: unknown;
      purges: number;
      checkpointed: boolean;
      finishBatch: () => Promise<void>;
    },
  ): Promise<void> {
    const { now, batchKeys, finishBatch } = done;
    const first = { ...done.row };
    const row: InstanceRow = { ...done.row };
    let outcome: Outcome = done.outcome;
    let customStatus = done.customStatus;
    let decisions: Decision[] = [];
    let history: HistoryEvent[] = [];
    for (let executions = 0; outcome.status === 'ContinuedAsNew'; executions++) {
      if (executions === MAX_EXECUTIONS_PER_EPISODE) {
        // Stricter than Azure, which would spin: an orchestration that continues as new without awaiting anything.
        outcome = { status: 'Failed', output: `Orchestrator function '${row.name}' failed: it continued as new ${MAX_EXECUTIONS_PER_EPISODE} times without awaiting anything` };
        break;
      }
      // Each execution's ExecutionStarted sets the instance's CreatedTime (AzureTableTrackingStore.UpdateStateAsync).
      Object.assign(row, { executionId: newExecutionId(), input: outcome.input, output: null, createdTime: now });
      history = [events.orchestratorStarted(now), events.executionStarted(now, { instanceId: live.id, executionId: row.executionId, name: row.name, input: row.input })];
      const result = await this.runOrchestrator(live.id, row, history, false);
      // The custom status carries over until the new execution sets one.
      if (result.state?.customStatus !== undefined && result.state.customStatus !== null) customStatus = result.state.customStatus;
      outcome = result.outcome;
      decisions = result.decisions;
    }
    if (live.purges !== done.purges && done.checkpointed) return this.discardPurged(live, finishBatch, outcome, decisions);
    let tail = closingEvents(now, outcome, decisions);
    try {
      // The batch's messages are marked consumed on the new execution's first row: the old execution's history goes.
      const rows = [{ event: history[0], messageKeys: batchKeys }, ...history.slice(1).map((event) => ({ event })), ...tail.map((event) => ({ event }))];
      await this.store.appendHistory(live.id, row.executionId, 0, rows);
    } catch (err) {
      if (!(err instanceof DurableSizeError)) throw err;
      // A new input too large for a row fails the execution that asked for it (Azure would keep it in a blob).
      Object.assign(row, first);
      outcome = { status: 'Failed', output: `Orchestrator function '${row.name}' failed: ${err.message}` };
      decisions = [];
      history = [...done.past, ...done.fresh.map((f) => f.event)];
      tail = closingEvents(now, outcome, decisions);
      await this.store.appendHistory(live.id, row.executionId, done.past.length, [...done.fresh, ...tail.map((event) => ({ event }))]);
    }
    recordOutcome(row, outcome, now, customStatus);
    // The row first: once it names the new execution, a restart finds the consumed messages marked there.
    await this.store.putInstance(row);
    await finishBatch();
    for (const old of new Set([first.executionId, done.replaced])) if (old !== undefined && old !== row.executionId) await this.store.deleteExecution(live.id, old);
    this.disarm(live);
    live.generation++;
    this.settled(live, row, history.concat(tail), outcome, decisions);
  }

  /** After an episode was stored: what the instance now is, its new work dispatched, or let go once ended. */
  private settled(live: Live, row: InstanceRow, history: HistoryEvent[], outcome: Outcome, decisions: Decision[]): void {
    live.row = row;
    // Purged before its first episode was stored (a Pending instance): this episode wrote the rows
    // back, as Azure's first checkpoint does (it creates the history rather than updating it).
    live.purged = false;
    live.checkpointed = true;
    live.history = history.map((e) => (e.IsPlayed ? e : { ...e, IsPlayed: true }));
    if (outcome.status === 'Running') {
      for (const d of decisions) this.dispatch(live, d);
    } else {
      this.disarm(live);
      live.generation++;
      // Keep the finished instance until its queue drains, then let it go.
      if (!live.messages.length) this.forget(live);
    }
  }

  private async runOrchestrator(
    instanceId: string,
    row: InstanceRow,
    history: HistoryEvent[],
    isReplaying: boolean,
  ): Promise<{ outcome: Outcome; decisions: Decision[]; state?: OrchestratorStateWire }> {
    const registration = this.findFunction('orchestrationtrigger', row.name);
    if (!registration) {
      const known = this.orchestratorNames();
      return {
        outcome: {
          status: 'Failed',
          output: `The function '${row.name}' doesn't exist, is disabled, or is not an orchestrator function. Additional info: The following are the known orchestrator functions: '${known.join("', '")}'.`,
        },
        decisions: [],
      };
    }
    const name = row.name;
    const answer = await callOrchestrator(registration.handler, this.invocationContext(registration), name, { history, input: row.input, instanceId, isReplaying });
    if ('failure' in answer) return { outcome: { status: 'Failed', output: answer.failure }, decisions: [], state: answer.state };
    const { state, actions } = answer;
    const result = replay(actions, history, {
      resolveActivity: (n) => this.findFunction('activitytrigger', n)?.metadata.name,
      knownActivities: () => this.functionsOf('activitytrigger').map((r) => r.metadata.name),
    });
    if (result.unreached > 0 && !result.error && !state.error && !state.isDone) {
      this.log('warning', `instance '${instanceId}': ${result.unreached} action(s) of '${name}' were not reached while replaying its history`);
    }
    if (result.error) return { outcome: { status: 'Failed', output: result.error }, decisions: [], state };
    if (state.error !== undefined && state.error !== null) {
      return { outcome: { status: 'Failed', output: `Orchestrator function '${name}' failed: ${state.error}` }, decisions: [], state };
    }
    if (state.isDone) {
      if (result.continueAsNew) return { outcome: { status: 'ContinuedAsNew', input: result.continueAsNew.input, output: null }, decisions: [], state };
      return { outcome: { status: 'Completed', output: JSON.stringify(state.output ?? null) }, decisions: [], state };
    }
    return { outcome: { status: 'Running', output: null }, decisions: result.decisions, state };
  }

  // ---- activities and timers

  private dispatch(live: Live, d: Decision): void {
    // A load still finishing (start takes instances up in the background) arms nothing once stopping.
    if (this.stopping) return;
    const generation = live.generation;
    if (d.kind === 'timer') {
      if (live.timers.has(d.id)) return;
      const cancel = this.clock.schedule(Date.parse(d.fireAt), () => {
        live.timers.delete(d.id);
        this.deliver(live, generation, events.timerFired(this.clock.now(), d.id, d.fireAt));
      });
      live.timers.set(d.id, cancel);
      return;
    }
    void this.runActivity(d).then((event) => {
      if (event) this.deliver(live, generation, event);
    });
  }

  private async runActivity(d: Extract<Decision, { kind: 'task' }>): Promise<HistoryEvent | undefined> {
    await this.activitySlot();
    try {
      if (this.stopping) return undefined;
      const registration = this.findFunction('activitytrigger', d.name);
      if (!registration) {
        return events.taskFailed(this.clock.now(), d.id, `The function '${d.name}' doesn't exist, is disabled, or is not an activity function.`, '');
      }
      const answer = await callActivity(registration.handler, this.invocationContext(registration), registration.metadata.name, d.input);
      return 'output' in answer ? events.taskCompleted(this.clock.now(), d.id, answer.output) : events.taskFailed(this.clock.now(), d.id, answer.reason, answer.details);
    } finally {
      this.releaseSlot();
    }
  }

  private activitySlot(): Promise<void> {
    if (this.activitySlots > 0) {
      this.activitySlots--;
      return Promise.resolve();
    }
    return new Promise((ok) => this.activityQueue.push(ok));
  }

  private releaseSlot(): void {
    const next = this.activityQueue.shift();
    if (next) next();
    else this.activitySlots++;
  }

  // ---- registrations

  private functionsOf(triggerType: string): Registration[] {
    return this.options.registrations.filter((r) => Object.values(r.metadata.bindings).some((b) => b.type.toLowerCase() === triggerType));
  }

  /** Function names are case-insensitive, as the host's FunctionName is. */
  private findFunction(triggerType: string, name: string): Registration | undefined {
    const lower = name.toLowerCase();
    return this.functionsOf(triggerType).find((r) => r.metadata.name.toLowerCase() === lower);
  }

  /** The host's InvocationContext, with the driver's extra inputs (a durable client) set. */
  private invocationContext(registration: Registration): InvocationContext {
    return invocationContext(registration.metadata, (binding) => this.extraInput(binding), this.log);
  }
}

/** The events an episode ends with: its new tasks and timers, the execution's end if it ended, OrchestratorCompleted. */
function closingEvents(now: number, outcome: Outcome, decisions: Decision[]): HistoryEvent[] {
  const tail: HistoryEvent[] = [];
  if (outcome.status === 'Running') {
    for (const d of decisions) tail.push(d.kind === 'task' ? events.taskScheduled(now, d.id, d.name, d.input) : events.timerCreated(now, d.id, d.fireAt));
  }
  const end = { Completed: OrchestrationStatus.Completed, Failed: OrchestrationStatus.Failed, Terminated: OrchestrationStatus.Terminated }[outcome.status as string];
  if (end !== undefined) tail.push(events.executionCompleted(now, end, outcome.output));
  tail.push(events.orchestratorCompleted(now));
  return tail;
}

type Outcome = { status: 'Running'; output: null } | { status: 'Completed' | 'Failed' | 'Terminated'; output: string | null } | { status: 'ContinuedAsNew'; input: string | null; output: null };

function statusFromEnd(status: number): RuntimeStatus {
  switch (status) {
    case OrchestrationStatus.Completed:
      return 'Completed';
    case OrchestrationStatus.Terminated:
      return 'Terminated';
    case OrchestrationStatus.Canceled:
      return 'Canceled';
    default:
      return 'Failed';
  }
}

/** Execution ids sort in creation order (the newest execution of an instance is the last). */
function newExecutionId(): string {
  return `${Date.now().toString(36).padStart(10, '0')}${randomBytes(6).toString('hex')}`;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The instance row after an episode: its status, output once ended, and custom status when set. */
function recordOutcome(row: InstanceRow, outcome: { status: string; output?: unknown }, now: number, customStatus: unknown): void {
  Object.assign(row, {
    runtimeStatus: outcome.status,
    lastUpdatedTime: now,
    ...(outcome.status === 'Running' ? {} : { output: outcome.output }),
    ...(customStatus !== undefined && customStatus !== null ? { customStatus: JSON.stringify(customStatus) } : {}),
  });
}
