import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { MAX_REQUEST_BYTES } from './body';
import type { CoreApiState, CoreCallback, FunctionMetadata } from './coreApi';
import { extraInputs, triggerOf, type HostLog, type ProvideInput } from './invocation';

// HTTP streaming (`app.setup({ enableHttpStream: true })`), as the Functions host and the Node
// library do it (docs/local-host.md, "HTTP streaming"). The library's own code runs: after app
// start the host asks the programming model for its capabilities, which starts the library's proxy
// server and reports its `HttpUri`; each HTTP invocation is then forwarded there (the body streamed,
// headers as YARP's forwarder sends them) and run through the library's InvocationModel, whose
// createStreamRequest and sendProxyResponse read the request from, and write the answer to, that
// connection. The host copies that answer back to the client.

interface RpcTypedData {
  string?: string;
  json?: string;
  http?: Record<string, never>;
}

interface CoreInvocationContext {
  invocationId: string;
  request: { invocationId: string; functionId: string; inputData: { name: string; data: RpcTypedData }[]; triggerMetadata: Record<string, RpcTypedData> };
  metadata: FunctionMetadata;
  state?: string;
  log: (level: string, category: string, message: string) => void;
}

interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: CoreCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<unknown>;
}

interface ProgrammingModel {
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel;
}

/** The worker's side of streaming: where its proxy listens and the model that runs invocations. */
export interface StreamWorker {
  httpUri: URL;
  model: ProgrammingModel;
}

/**
 * The worker's capabilities, asked once after the app's files are loaded and its appStart hooks
 * ran, as the worker does before answering the host's init (the library locks `app.setup` here).
 * A `HttpUri` means the app streams; undefined otherwise.
 */
export async function streamWorker(core: CoreApiState): Promise<StreamWorker | undefined> {
  const model = core.programmingModel as ProgrammingModel | undefined;
  if (!model) return undefined;
  const capabilities = await model.getCapabilities({});
  return capabilities.HttpUri ? { httpUri: new URL(capabilities.HttpUri), model } : undefined;
}

/** YARP's forwarder never copies these, either way (`RequestUtilities._headersToExclude`). */
const NOT_FORWARDED = new Set([
  'connection',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authentication-info',
  'proxy-authorization',
  'proxy-features',
  'proxy-instruction',
  'security-scheme',
  'alpn',
  'close',
  'http2-settings',
  'upgrade-insecure-requests',
  'te',
  'alt-svc',
  'strict-transport-security',
]);

/** The headers YARP's AddXForwarded (action Set) replaces; Prefix only when there is a PathBase. */
const X_FORWARDED_SET = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-prefix']);

/** The host's correlation header (`ScriptConstants.HttpProxyCorrelationHeader`). */
const INVOCATION_ID_HEADER = 'x-ms-invocation-id';

/** YARP's `ActivityTimeout` as the host sets it: 240 s without progress either way ends the forward. */
const ACTIVITY_TIMEOUT_MS = 240_000;

/** Kestrel's `RequestBodyDrainTimeout` (not configurable): how long it drains a body the app left unread. */
const DRAIN_TIMEOUT_MS = 5_000;

// The host's pooled connections to the worker (SocketsHttpHandler); no retries here (the host's
// RetryProxyHandler retries refused connections, and the worker's proxy here is in-process). The
// worker's server (Node's) closes a connection idle for 5 s; .NET sends again, on a new connection,
// a request whose pooled connection the server had closed, which Node's agent does not: an idle
// connection is dropped here after 4 s, before the worker can close it under a request (a 504).
const agent = new Agent({ keepAlive: true, timeout: 4_000 });

export interface StreamInvocation {
  worker: StreamWorker;
  registration: { metadata: FunctionMetadata; handler: CoreCallback };
  params: Record<string, string>;
  query: Record<string, string>;
  provide: ProvideInput;
  log: HostLog;
}

/**
 * One HTTP invocation of a streaming app. Resolves when the client's answer is complete (or
 * abandoned); never rejects.
 */
export async function invokeStreaming(call: StreamInvocation, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { metadata, handler } = call.registration;
  // An answer already ended (a 413) stands; one cut off mid-body is aborted, as YARP does.
  const fail = (status: number, message: string) => {
    call.log('error', `[${metadata.name}] ${message}`);
    if (!res.headersSent) res.writeHead(status).end();
    else if (!res.writableEnded) res.destroy();
  };
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) {
    req.resume();
    res.writeHead(413).end();
    return;
  }

  const invocationId = randomUUID();
  const forward = httpRequest(new URL(req.url ?? '/', call.worker.httpUri), { method: req.method, headers: forwardedHeaders(req, invocationId), agent });
  forward.setTimeout(ACTIVITY_TIMEOUT_MS, () => forward.destroy(new Error('activity timeout')));
  forward.setNoDelay(true);
  let tooLarge = false;
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > MAX_REQUEST_BYTES && !tooLarge) {
      // Kestrel stops reading there; the worker's request stream errors.
      tooLarge = true;
      req.unpipe(forward);
      forward.destroy(new Error('request body over the limit'));
    }
  });
  req.pipe(forward);
  // Answered before the client finished sending its body (a handler that refused it unread).
  res.on('finish', () => {
    if (!req.complete) drainUnread(req, forward, received);
  });
  // The client went away: so does the forward (the worker's request body errors, as in Azure).
  res.on('close', () => {
    if (!res.writableFinished) forward.destroy();
  });

  const answered = new Promise<boolean>((resolve) => {
    forward.on('response', (proxied: IncomingMessage) => {
      if (tooLarge || res.destroyed) {
        proxied.destroy();
        return resolve(true);
      }
      res.writeHead(proxied.statusCode ?? 502, answerHeaders(proxied.rawHeaders));
      proxied.pipe(res);
      proxied.on('error', () => res.destroy());
      proxied.on('aborted', () => res.destroy());
      res.on('close', () => resolve(true));
    });
    forward.on('error', () => {
      if (tooLarge) {
        if (!res.headersSent) res.writeHead(413).end();
        else res.destroy();
        req.resume();
      } else if (!res.headersSent) {
        if (!res.destroyed) res.writeHead(504).end();
      } else if (!res.writableFinished) res.destroy();
      resolve(false);
    });
  });

  // The invocation, as the worker runs it: the library's own InvocationModel, with the RPC request
  // the host sends when it proxies (an empty `http` input, the trigger metadata, the extra inputs).
  const coreCtx: CoreInvocationContext = {
    invocationId,
    request: { invocationId, functionId: metadata.name, inputData: inputData(metadata, call.provide), triggerMetadata: triggerMetadata(req.headersDistinct, call.query, call.params) },
    metadata,
    state: 'invocation',
    log: (level, _category, message) => {
      if (level === 'error' || level === 'critical') call.log('error', `[${metadata.name}] ${message}`);
      else if (level === 'warning') call.log('warning', `[${metadata.name}] ${message}`);
      else if (level !== 'trace' && level !== 'debug') call.log('information', `[${metadata.name}] ${message}`);
    },
  };
  const model = call.worker.model.getInvocationModel(coreCtx);
  let result: unknown;
  try {
    const { context, inputs } = await model.getArguments();
    result = await model.invokeFunction(context, inputs, handler);
    await model.getResponse(context, result);
  } catch (err) {
    // The library never answers the proxied request of a failed invocation (nodejs-library issue
    // 324): in Azure the host waits for YARP's 240 s activity timeout, then answers 500 (or cuts the body).
    forward.destroy();
    fail(500, `invocation failed (${err instanceof Error ? err.name : typeof err}); in Azure the client gets this only after 240 s`);
    return;
  }
  if (result === undefined || result === null) {
    // toRpcHttp sends nothing for no result: the proxied request is never answered.
    forward.destroy();
    fail(500, 'returned no HTTP response, which a streaming worker never answers (in Azure: 500 after 240 s)');
    return;
  }
  await answered;
}

/**
 * The rest of a request body whose answer is complete, as Kestrel treats it (request draining,
 * `Http1MessageBody.OnConsumeAsync`): read and discarded so that the kept-alive connection serves
 * the client's next request; a client still sending after 5 s has its connection reset, one past
 * the body limit has it closed. The forward to the worker, which stopped reading it, is dropped.
 * Left piped, the body stalled behind the worker's unread stream and so did the client's next
 * request, until the keep-alive timeout reset the connection under it.
 */
function drainUnread(req: IncomingMessage, forward: ClientRequest, received: number): void {
  req.unpipe(forward);
  forward.destroy();
  let drained = received;
  const giveUp = () => req.socket.destroy();
  const timer = setTimeout(giveUp, DRAIN_TIMEOUT_MS);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    // Past the limit the connection is closed once the answer is out (FIN; what still comes is read
    // until the 5 s are up): a reset at once could reach the client before it read the 413.
    if (drained > MAX_REQUEST_BYTES && !req.socket.writableEnded) req.socket.end();
  });
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** The request as YARP's default transforms send it to the worker. */
function forwardedHeaders(req: IncomingMessage, invocationId: string): OutgoingHttpHeaders {
  const headers: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    // Host: the destination's (RequestHeaderOriginalHostTransform(false)); Forwarded removed and the
    // four X-Forwarded-* it sets replaced by AddXForwarded (others, such as X-Forwarded-Port, pass).
    if (NOT_FORWARDED.has(name) || name === 'host' || name === 'forwarded' || X_FORWARDED_SET.has(name)) continue;
    (headers[name] ??= []).push(raw[i + 1]);
  }
  // AddXForwarded(Set): For (the client's address), Host, Proto; Prefix only with a PathBase (none).
  const forwardedFor = req.socket.remoteAddress?.replace(/^::ffff:/, '');
  if (forwardedFor) headers['x-forwarded-for'] = [forwardedFor];
  headers['x-forwarded-host'] = [req.headers.host ?? 'localhost'];
  headers['x-forwarded-proto'] = ['http'];
  // Set over a client's own value (host PR #10980, issue #10934; before it, TryAdd kept the client's
  // and the worker never matched the request to its invocation).
  headers[INVOCATION_ID_HEADER] = [invocationId];
  return headers;
}

/** The worker's answer as YARP copies it to the client: every header but its excluded ones. */
function answerHeaders(raw: string[]): OutgoingHttpHeaders {
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!NOT_FORWARDED.has(name)) (headers[name] ??= []).push(raw[i + 1]);
  }
  return headers;
}

/**
 * The RPC inputs when the host proxies: the trigger as an empty `http` (ToRpcHttp's EmptyRpcHttp),
 * then each extra input as the extension supplies it (JSON as a string, which the library parses).
 */
function inputData(metadata: FunctionMetadata, provide: ProvideInput): CoreInvocationContext['request']['inputData'] {
  const list: CoreInvocationContext['request']['inputData'] = [{ name: triggerOf(metadata).name, data: { http: {} } }];
  for (const binding of extraInputs(metadata)) {
    const value = provide(binding);
    if (value !== undefined) list.push({ name: binding.name, data: { string: JSON.stringify(value) } });
  }
  return list;
}

/**
 * The trigger metadata of an HTTP invocation (the HTTP extension's GetRequestBindingData): one
 * dictionary ignoring case, filled with each query value (but `code`), then each route value, then
 * `Query` and `Headers` unless a query or route value took that name. The library makes
 * `request.params` of every string in it but `Query` and `Headers`, and the request's headers of
 * `Headers`.
 */
function triggerMetadata(headers: NodeJS.Dict<string[]>, query: Record<string, string>, params: Record<string, string>): Record<string, RpcTypedData> {
  const data = new Map<string, { key: string; value: RpcTypedData }>();
  const set = (key: string, value: RpcTypedData, onlyIfAbsent = false) => {
    const k = key.toLowerCase();
    const seen = data.get(k);
    if (onlyIfAbsent && seen) return;
    data.set(k, { key: seen?.key ?? key, value });
  };
  for (const [k, v] of Object.entries(query)) if (k.toLowerCase() !== 'code') set(k, { string: v });
  for (const [k, v] of Object.entries(params)) set(k, { string: v });
  set('Query', { json: JSON.stringify(query) }, true);
  // Names as received; repeated values joined with "," (StringValues.ToString).
  const headerData: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v) headerData[k] = v.join(',');
  set('Headers', { json: JSON.stringify(headerData) }, true);
  return Object.fromEntries([...data.values()].map((e) => [e.key, e.value]));
}
