import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { classifyAddress } from '../../shared/net/destination';
import { readBody } from '../host/body';
import type { DurableClock } from './clock';
import { DurableArgumentError, DurableInvalidOperationError, InstanceAlreadyExistsError } from './errors';
import { historyForStatus, parseJsonOrText, RUNTIME_STATUSES, type HistoryEvent, type RuntimeStatus } from './history';
import { DurableSizeError, type DurableStore, type InstanceQuery, type InstanceRow } from './store';
import { managementUrls } from './wire';

// The extension's HTTP API (HttpApiHandler), at the two places the extension serves it: the local
// RPC endpoint (http://127.0.0.1:<port>/durabletask/, the client data's rpcBaseUrl, which
// DurableClient calls) and the webhook path of the functions host (/runtime/webhooks/durabletask/,
// the management URLs handed to callers). Same routes, status codes and bodies:
//
//   POST   orchestrators/{functionName}[/{instanceId}]   start          202 + management URLs
//   GET    instances/{instanceId}                         status         200 done, 202 running, 404
//   GET    instances/                                     query          200 + x-ms-continuation-token
//   DELETE instances/{instanceId}                         purge          200 {instancesDeleted}, 404, 500 unless ended
//   DELETE instances/?createdTimeFrom=…                   purge by filter
//   POST   instances/{instanceId}/raiseEvent/{eventName}  raise event    202, 404, 410
//   POST   instances/{instanceId}/terminate?reason=…      terminate      202, 404, 410
//   POST   instances/{instanceId}/restart                 restart        202
//
// Suspend, resume, rewind and entities answer 501 (not implemented here).

/**
 * What the API asks of the durable driver, which serves it (DurableDriver is one): the client
 * operations, and the task hub's name and system key for the management URLs.
 */
export interface DurableApiBackend {
  readonly clock: DurableClock;
  readonly taskHubName: string;
  /** This run's key for the webhook routes (the host's system key `durabletask_extension` in Azure). */
  readonly systemKey: string;
  startNew(name: string, instanceId: string | undefined, input: string | null): Promise<string>;
  getInstance(instanceId: string): Promise<InstanceRow | undefined>;
  getHistory(row: InstanceRow): Promise<HistoryEvent[]>;
  queryInstances(query: InstanceQuery, pageSize: number, continuationToken?: string): ReturnType<DurableStore['queryInstances']>;
  raiseEvent(instanceId: string, eventName: string, data: string | null): Promise<ClientOutcome>;
  terminate(instanceId: string, reason: string | null): Promise<ClientOutcome>;
  /** Throws DurableInvalidOperationError for an instance that has not ended. */
  purge(instanceId: string): Promise<boolean>;
  purgeBy(query: InstanceQuery): Promise<number>;
}

/** How a client's message to an instance went. */
export type ClientOutcome = 'accepted' | 'notFound' | 'gone';

const BASES = ['/durabletask', '/runtime/webhooks/durabletask'];
const API_PATH = /^\/(?:runtime\/webhooks\/)?durabletask(?:[/?]|$)/i;
const WEBHOOK_PATH = '/runtime/webhooks/durabletask';
const DEFAULT_PAGE_SIZE = 100;

/** The extension's local RPC endpoint on loopback (the client data's rpcBaseUrl), serving the API. */
export interface RpcEndpoint {
  /** e.g. http://127.0.0.1:17071/durabletask/ */
  readonly baseUrl: string;
  /** Closes it, cutting the connections still open. */
  close(): Promise<void>;
}

/** Opens the RPC endpoint at `port` (any free port if that one is taken; 0 for any); other paths answer 404. */
export async function openRpcEndpoint(driver: DurableApiBackend, port: number): Promise<RpcEndpoint> {
  const server = createServer((req, res) => {
    if (!serveDurableApi(driver, req, res)) res.writeHead(404).end();
  });
  const bound = await listen(server, port);
  return {
    baseUrl: `http://127.0.0.1:${bound}/durabletask/`,
    close() {
      server.closeAllConnections();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

/** Handles a request under one of the API's base paths; false for any other path. */
export function serveDurableApi(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse): boolean {
  // Cheap enough to sit in front of every request of the host.
  if (!API_PATH.test(req.url ?? '')) return false;
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  const lower = url.pathname.toLowerCase();
  const base = BASES.find((b) => lower === b || lower.startsWith(`${b}/`));
  if (base === undefined) return false;
  // Reached by browsers on a developer's machine, unlike Azure's, so: no cross-site request (a
  // page's text/plain POST needs no preflight), no foreign Host (DNS rebinding), and under the
  // host's webhook path the system key, as the host's HostController requires.
  if (req.headers.origin !== undefined || !isLoopbackHost(req.headers.host)) {
    send(res, 403, { Message: 'The durable API takes no cross-site or non-loopback request.' });
    return true;
  }
  if (base === WEBHOOK_PATH && !isSystemKey(driver, url.searchParams.get('code'))) {
    send(res, 401);
    return true;
  }
  let segments: string[];
  try {
    segments = url.pathname.slice(base.length).split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    send(res, 400, { Message: 'The request URL is not valid.' });
    return true;
  }
  route(driver, req, res, url, segments).catch((err: unknown) => {
    if (err instanceof DurableSizeError) return send(res, 400, { Message: 'One or more of the arguments submitted is incorrect', ExceptionMessage: err.message });
    const message = err instanceof Error ? err.message : String(err);
    if (!res.headersSent) send(res, 500, { Message: 'Something went wrong while processing your request', ExceptionMessage: message, ExceptionType: err instanceof Error ? err.name : typeof err });
    else res.destroy();
  });
  return true;
}

async function route(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse, url: URL, segments: string[]): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const [controller, ...rest] = segments;
  const q = url.searchParams;
  switch (controller?.toLowerCase()) {
    case 'orchestrators': {
      if (rest.length < 1 || rest.length > 2 || method !== 'POST') return send(res, 404);
      return start(driver, req, res, url, rest[0], rest[1]);
    }
    case 'instances': {
      const [instanceId, operation, eventName] = rest;
      if (instanceId === undefined) {
        if (method === 'GET') return query(driver, req, res, q);
        if (method === 'DELETE') return purgeBy(driver, res, q);
        return send(res, 404);
      }
      if (operation === undefined) {
        if (method === 'GET') return status(driver, res, url, instanceId, q);
        if (method === 'DELETE') {
          if (!(await driver.getInstance(instanceId))) return send(res, 404);
          try {
            await driver.purge(instanceId);
          } catch (err) {
            if (!(err instanceof DurableInvalidOperationError)) throw err;
            // The handler's catch-all for exceptions other than ArgumentException: 500.
            return send(res, 500, { Message: 'Something went wrong while processing your request', ExceptionMessage: err.message, ExceptionType: 'System.InvalidOperationException' });
          }
          return send(res, 200, { instancesDeleted: 1 });
        }
        return send(res, 404);
      }
      if (method !== 'POST') return send(res, 404);
      const op = operation.toLowerCase();
      if (op === 'raiseevent' && eventName !== undefined && rest.length === 3) return raiseEvent(driver, req, res, instanceId, eventName);
      if (rest.length !== 2) return send(res, 404);
      if (op === 'terminate') {
        const outcome = await driver.terminate(instanceId, q.get('reason'));
        return send(res, outcome === 'notFound' ? 404 : outcome === 'gone' ? 410 : 202);
      }
      if (op === 'restart') return restart(driver, req, res, url, instanceId, q);
      if (op === 'suspend' || op === 'resume' || op === 'rewind') {
        if (!(await driver.getInstance(instanceId))) return send(res, 404);
        return send(res, 501, { Message: `The ${op} operation is not supported by the local durable driver.` });
      }
      return send(res, 404);
    }
    case 'entities':
      return send(res, 501, { Message: 'Durable entities are not supported by the local durable driver.' });
    default:
      return send(res, 404);
  }
}

async function start(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse, url: URL, functionName: string, instanceId: string | undefined): Promise<void> {
  const body = await readBody(req);
  if (body === undefined) return send(res, 413);
  let input: string | null = null;
  if (body.length) {
    try {
      input = JSON.stringify(JSON.parse(body.toString('utf8')));
    } catch (err) {
      return send(res, 400, { Message: 'Invalid JSON content', ExceptionMessage: (err as Error).message, ExceptionType: 'Newtonsoft.Json.JsonReaderException' });
    }
  }
  let id: string;
  try {
    id = await driver.startNew(functionName, instanceId, input);
  } catch (err) {
    if (err instanceof DurableArgumentError) {
      return send(res, 400, { Message: 'One or more of the arguments submitted is incorrect', ExceptionMessage: err.message, ExceptionType: 'System.ArgumentException' });
    }
    if (err instanceof InstanceAlreadyExistsError) {
      return send(res, 500, {
        Message: 'Something went wrong while processing your request',
        ExceptionMessage: err.message,
        ExceptionType: 'DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException',
      });
    }
    throw err;
  }
  return checkStatusOrWait(driver, req, res, url, id);
}

async function restart(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse, url: URL, instanceId: string, q: URLSearchParams): Promise<void> {
  const row = await driver.getInstance(instanceId);
  if (!row) {
    return send(res, 400, { Message: 'InstanceId does not match a valid orchestration instance.', ExceptionMessage: `An orchestrastion with the instanceId ${instanceId} was not found.` });
  }
  const id = await driver.startNew(row.name, bool(q.get('restartWithNewInstanceId')) ? undefined : row.instanceId, row.input);
  return checkStatusOrWait(driver, req, res, url, id);
}

/** `timeout` and `pollingInterval` (seconds) make the start wait for the outcome, as createAndWaitOnNewInstancePostUri does. */
async function checkStatusOrWait(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse, url: URL, id: string): Promise<void> {
  const timeout = seconds(url.searchParams.get('timeout'));
  const interval = seconds(url.searchParams.get('pollingInterval'));
  if (timeout !== undefined && interval !== undefined) {
    const until = Date.now() + timeout * 1000;
    for (;;) {
      const row = await driver.getInstance(id);
      if (row?.runtimeStatus === 'Completed') return send(res, 200, parseJsonOrText(row.output));
      if (row && ['Failed', 'Terminated', 'Canceled'].includes(row.runtimeStatus)) return send(res, 200, statusPayload(row, true));
      const left = until - Date.now();
      if (left <= 0) break;
      await new Promise((ok) => setTimeout(ok, Math.min(left, interval * 1000)));
    }
  }
  // CreateCheckStatusResponseMessage: the management URLs without rewindPostUri.
  const { rewindPostUri: _rewind, ...urls } = managementUrls(`${origin(req)}${WEBHOOK_PATH}`, id, driver.taskHubName, driver.systemKey);
  send(res, 202, { id, ...urls }, { Location: urls.statusQueryGetUri, 'Retry-After': '10' });
}

async function status(driver: DurableApiBackend, res: ServerResponse, url: URL, instanceId: string, q: URLSearchParams): Promise<void> {
  const row = await driver.getInstance(instanceId);
  if (!row) return send(res, 404);
  const showInput = bool(q.get('showInput')) ?? true;
  let history: Record<string, unknown>[] | undefined;
  if (bool(q.get('showHistory')) && row.runtimeStatus !== 'Pending') {
    history = historyForStatus(await driver.getHistory(row), bool(q.get('showHistoryOutput')) ?? false, showInput);
  }
  const body = statusPayload(row, showInput, history);
  switch (row.runtimeStatus) {
    case 'Running':
    case 'Pending':
    case 'ContinuedAsNew':
    case 'Suspended':
      return send(res, 202, body, { Location: url.href, 'Retry-After': '5' });
    case 'Failed':
      return send(res, bool(q.get('returnInternalServerErrorOnFailure')) ? 500 : 200, body);
    default:
      return send(res, 200, body);
  }
}

async function query(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const showInput = bool(q.get('showInput')) ?? true;
  const top = Number.parseInt(q.get('top') ?? '', 10);
  const token = req.headers['x-ms-continuation-token'];
  const page = await driver.queryInstances(instanceQuery(q), Number.isInteger(top) && top > 0 ? top : DEFAULT_PAGE_SIZE, typeof token === 'string' && token ? token : undefined);
  send(
    res,
    200,
    page.rows.map((row) => statusPayload(row, showInput)),
    page.continuationToken ? { 'x-ms-continuation-token': page.continuationToken } : {},
  );
}

async function purgeBy(driver: DurableApiBackend, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const filter = instanceQuery(q);
  if (!filter.createdTimeFrom) return send(res, 400, "Please provide value for 'createdTimeFrom' parameter.");
  filter.createdTimeTo ??= new Date(driver.clock.now());
  delete filter.instanceIdPrefix;
  const deleted = await driver.purgeBy(filter);
  if (deleted === 0) return send(res, 404);
  send(res, 200, { instancesDeleted: deleted });
}

async function raiseEvent(driver: DurableApiBackend, req: IncomingMessage, res: ServerResponse, instanceId: string, eventName: string): Promise<void> {
  const row = await driver.getInstance(instanceId);
  if (!row) return send(res, 404);
  if (['Failed', 'Canceled', 'Terminated', 'Completed'].includes(row.runtimeStatus)) return send(res, 410);
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json') return send(res, 400, { Message: 'Only application/json request content is supported' });
  const body = await readBody(req);
  if (body === undefined) return send(res, 413);
  // MessagePayloadDataConverter.ConvertToJToken: an empty body is not JSON either (so raiseEvent
  // without data is refused, as in Azure; send null).
  let data: string;
  try {
    data = JSON.stringify(JSON.parse(body.toString('utf8')));
  } catch (err) {
    return send(res, 400, { Message: 'Invalid JSON content', ExceptionMessage: (err as Error).message, ExceptionType: 'Newtonsoft.Json.JsonReaderException' });
  }
  const outcome = await driver.raiseEvent(instanceId, eventName, data);
  send(res, outcome === 'notFound' ? 404 : outcome === 'gone' ? 410 : 202);
}

/** StatusResponsePayload, with times as the extension formats them (`ToString("s") + "Z"`). */
function statusPayload(row: InstanceRow, showInput: boolean, history?: Record<string, unknown>[]): Record<string, unknown> {
  const time = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
  return {
    name: row.name,
    instanceId: row.instanceId,
    runtimeStatus: row.runtimeStatus,
    input: showInput ? parseJsonOrText(row.input) : null,
    customStatus: parseJsonOrText(row.customStatus),
    output: parseJsonOrText(row.output),
    createdTime: time(row.createdTime),
    lastUpdatedTime: time(row.lastUpdatedTime),
    ...(history ? { historyEvents: history } : {}),
  };
}

function instanceQuery(q: URLSearchParams): InstanceQuery {
  const out: InstanceQuery = {};
  const from = date(q.get('createdTimeFrom'));
  const to = date(q.get('createdTimeTo'));
  if (from) out.createdTimeFrom = from;
  if (to) out.createdTimeTo = to;
  const statuses = q
    .getAll('runtimeStatus')
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s): s is RuntimeStatus => (RUNTIME_STATUSES as readonly string[]).includes(s));
  if (statuses.length) out.runtimeStatus = statuses;
  const prefix = q.get('instanceIdPrefix');
  if (prefix) out.instanceIdPrefix = prefix;
  return out;
}

function bool(v: string | null): boolean | undefined {
  if (v === null) return undefined;
  const lower = v.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

function date(v: string | null): Date | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function seconds(v: string | null): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Whether `code` is the driver's system key (the host's key for its webhook routes), in constant time. */
function isSystemKey(driver: DurableApiBackend, code: string | null): boolean {
  if (code === null) return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(code), digest(driver.systemKey));
}

/** `localhost` or a loopback address (as the webhook guard classifies it), with or without a port. */
function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === 'localhost' || (isIP(name.replace(/^\[|\]$/g, '')) !== 0 && classifyAddress(name) === 'loopback');
}

function origin(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

function send(res: ServerResponse, statusCode: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(statusCode, headers).end();
    return;
  }
  res.writeHead(statusCode, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && port !== 0) {
        server.listen(0, '127.0.0.1');
        return;
      }
      reject(err);
    };
    server.on('error', onError);
    server.once('listening', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
    server.listen(port, '127.0.0.1');
  });
}
