import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LRUCache } from 'lru-cache';
import { CredmanError, PayloadTooLargeError, ProviderNotFoundError, ProxyNotConfiguredError, UpstreamTimeoutError, UpstreamUnavailableError, ValidationError } from '../errors';
import type { Caller } from '../identity/caller';
import { lruCache } from '../lruCache';
import { checkDestination, DestinationError, guardedLookup, type Resolver } from '../net/destination';
import { findTemplate } from '../oauth/catalogue';
import type { ProviderTemplate } from '../oauth/template';
import type { ProviderStore } from '../store/providers';
import { ForcedRefreshLimitError } from '../tokens/refresher';
import type { TokenService } from '../tokens/tokenService';
import { callerResponseHeaders, correlationIdOf, upstreamRequestHeaders } from './headers';
import { PROXY_LIMITS, type ProxyLimits } from './limits';
import { apiRootOf, ProxyPathError, upstreamUrl } from './target';

// The token proxy: a caller with an access policy on a connection sends a request; it goes to the
// provider's API with the connection's access token attached, and the answer comes back as the
// upstream gave it. Bodies stream both ways; only a small request body is held, so that it can be
// sent again after a 401 made us refresh the token. Neither bodies nor tokens are logged.

/** A request to proxy, as the HTTP edge read it. */
export interface ProxyCall {
  method: string;
  /** The still percent-encoded path under the connection (`repos/o/r/issues`). */
  rawPath: string;
  /** The raw query with its `?`, or empty. */
  search: string;
  headers: Iterable<[string, string]>;
  /** The caller's body as it arrives; null for none. */
  body: AsyncIterable<Uint8Array> | null;
}

/** The upstream's answer as it goes back to the caller. */
export interface ProxyAnswer {
  status: number;
  headers: Record<string, string>;
  /** Streams the upstream's bytes as they come; null for a HEAD or a bodiless status. */
  body: Readable | null;
  /**
   * The access tokens sent upstream (two after a refresh): an upstream may reflect its request (an
   * echo or debugging endpoint, an error page), so what shows an answer to a model strikes them out.
   * Never sent to the HTTP caller (who may take tokens from the token endpoint anyway).
   */
  tokensSent: readonly string[];
}

/** Set on an answer after the upstream said 401 and the proxy refreshed the connection's token ("true"), or could not ("false"). */
export const REFRESHED_HEADER = 'credman-token-refreshed';

export interface ProxyOptions {
  allowPrivateNetworks: boolean;
  /** How long the provider's API root is remembered (the policy cache's time): a change elsewhere applies within it. */
  providerTtlMs: number;
  limits?: Partial<ProxyLimits>;
  resolve?: Resolver;
  now?: () => number;
}

interface Upstream {
  /** The admin's API root, if set. */
  apiBaseUrl: string | undefined;
  template: ProviderTemplate;
  loadedAt: number;
}

const BODILESS = new Set(['GET', 'HEAD']);

export class ProxyService {
  private readonly limits: ProxyLimits;
  private readonly lookup: LookupFunction;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly upstreams: LRUCache<string, Upstream> = lruCache(1_000);

  constructor(
    private readonly tokens: TokenService,
    private readonly providers: ProviderStore,
    private readonly options: ProxyOptions,
  ) {
    this.limits = { ...PROXY_LIMITS, ...options.limits };
    this.lookup = guardedLookup({ allowPrivateNetworks: options.allowPrivateNetworks, resolve: options.resolve });
    // Kept-alive sockets per upstream: a proxied call costs one request, not a TLS handshake.
    this.agents = { http: new http.Agent({ keepAlive: true, lookup: this.lookup }), https: new https.Agent({ keepAlive: true, lookup: this.lookup }) };
  }

  /**
   * Sends the caller's request to the connection's API. The caller's policy is checked first (403
   * before anything is sent); a connection that needs consent again answers 409 as the token
   * endpoint does. After an upstream 401, the token is refreshed once and a replayable request sent
   * again; otherwise the 401 comes back, saying in `credman-token-refreshed` whether a new token now exists.
   */
  async forward(caller: Caller, providerId: string, connectionId: string, call: ProxyCall, correlation: string | null): Promise<ProxyAnswer> {
    const correlationId = correlationIdOf(correlation);
    const served = await this.tokens.getToken(caller, providerId, connectionId);
    const upstream = await this.upstreamOf(providerId);
    const url = this.targetOf(providerId, upstream, served.context.claims, call);
    const headers = upstreamRequestHeaders(withoutTokenHeader(call.headers, upstream.template), correlationId);
    const body = await this.prepareBody(call, headers);
    const deadline = (this.options.now ?? Date.now)() + this.limits.totalSeconds * 1000;
    let res = await this.send(url, call.method, headers, upstream.template, served.context.accessToken, body, deadline);
    let refreshed: boolean | undefined;
    const tokensSent = [served.context.accessToken];
    if (res.statusCode === 401) {
      let token: string | undefined;
      try {
        token = (await this.tokens.getToken(caller, providerId, connectionId, { forceRefresh: true })).context.accessToken;
      } catch (err) {
        // A spent forced-refresh budget leaves the upstream's 401 as the answer; anything else (the
        // grant is gone: 409) is the better answer.
        if (!(err instanceof ForcedRefreshLimitError)) {
          res.destroy();
          throw err;
        }
      }
      // A forced refresh within CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS of the last one gets that
      // token: if it is the one just refused, nothing new exists and sending again is pointless.
      if (token === served.context.accessToken) token = undefined;
      refreshed = token !== undefined;
      if (token !== undefined && body.replayable) {
        res.resume();
        tokensSent.push(token);
        res = await this.send(url, call.method, headers, upstream.template, token, body, deadline);
      }
    }
    return { ...this.answer(res, call.method, correlationId, refreshed, deadline), tokensSent };
  }

  /** The provider's API root and template, from its verified row, remembered for `providerTtlMs`. */
  private async upstreamOf(providerId: string): Promise<Upstream> {
    const now = (this.options.now ?? Date.now)();
    const known = this.upstreams.get(providerId);
    if (known && now - known.loadedAt < this.options.providerTtlMs) return known;
    // With its secrets: the row is checked against its sealed binding, so a hostile writer cannot redirect the tokens.
    const provider = await this.providers.getWithSecrets(providerId);
    if (!provider) throw new ProviderNotFoundError(providerId);
    const template = findTemplate(provider.record.identityProvider);
    if (!template) throw new CredmanError('ProviderMisconfigured', 409, `Provider '${providerId}' names an unknown template.`);
    const loaded = { apiBaseUrl: provider.record.apiBaseUrl, template, loadedAt: now };
    this.upstreams.set(providerId, loaded);
    return loaded;
  }

  private targetOf(providerId: string, upstream: Upstream, claims: Record<string, unknown>, call: ProxyCall): URL {
    const root = apiRootOf(upstream.apiBaseUrl, upstream.template, claims);
    if (!root) throw new ProxyNotConfiguredError(providerId);
    let url: URL;
    try {
      url = upstreamUrl(root, call.rawPath, call.search);
    } catch (err) {
      if (err instanceof ProxyPathError) throw new ValidationError(err.message, [{ code: 'InvalidValue', target: 'path', message: err.message }]);
      // A root that is not a URL at all (a token response's claim): the upstream is unusable.
      throw new UpstreamUnavailableError(`The API base URL of provider '${providerId}' is not a URL.`);
    }
    try {
      // Every request, not only when the root was set: IP literals are not resolved (guardedLookup cannot see them), and a claim is the identity provider's word.
      return checkDestination(url.href, { allowPrivateNetworks: this.options.allowPrivateNetworks });
    } catch (err) {
      if (err instanceof DestinationError) throw new UpstreamUnavailableError(`The API base URL of provider '${providerId}' is not a destination credman calls: ${err.message}`);
      throw err;
    }
  }

  /** A body that fits the replay limit and declares its length is read first; any other streams once. */
  private async prepareBody(call: ProxyCall, headers: Record<string, string>): Promise<{ replayable: boolean; bytes?: Buffer; stream?: AsyncIterable<Uint8Array> }> {
    const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) {
      throw new ValidationError('Content-Length is not a length.', [{ code: 'InvalidValue', target: 'Content-Length', message: 'A non-negative integer.' }]);
    }
    if (declared !== undefined && declared > this.limits.requestBytes) throw new PayloadTooLargeError(this.limits.requestBytes);
    if (BODILESS.has(call.method.toUpperCase()) || call.body === null || declared === 0) {
      delete headers['content-length'];
      delete headers['content-type'];
      return { replayable: true };
    }
    if (declared !== undefined && declared <= this.limits.replayBytes) {
      const chunks: Buffer[] = [];
      for await (const chunk of exactly(call.body, declared)) chunks.push(Buffer.from(chunk));
      return { replayable: true, bytes: Buffer.concat(chunks) };
    }
    return { replayable: false, stream: declared === undefined ? call.body : exactly(call.body, declared) };
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    template: ProviderTemplate,
    token: string,
    body: { bytes?: Buffer; stream?: AsyncIterable<Uint8Array> },
    deadline: number,
  ): Promise<http.IncomingMessage> {
    const { header, scheme } = template.apiToken ?? { header: 'authorization', scheme: 'Bearer' };
    const outgoing = { ...headers, [header.toLowerCase()]: scheme ? `${scheme} ${token}` : token };
    if (body.bytes) outgoing['content-length'] = String(body.bytes.length);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method, headers: outgoing, agent: url.protocol === 'https:' ? this.agents.https : this.agents.http });
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const clearTimer = () => timers.forEach(clearTimeout);
      const fail = (err: CredmanError) => {
        clearTimer();
        if (settled) return;
        settled = true;
        req.destroy();
        reject(err);
      };
      // The upstream's time to answer counts from when the whole body was sent (a slow upload is
      // not a slow upstream); the exchange's own deadline counts from the start.
      timers.push(setTimeout(() => fail(new UpstreamTimeoutError(this.limits.totalSeconds)), Math.max(0, deadline - (this.options.now ?? Date.now)())));
      req.once('finish', () => {
        if (!settled) timers.push(setTimeout(() => fail(new UpstreamTimeoutError(this.limits.answerSeconds)), this.limits.answerSeconds * 1000));
      });
      req.on('response', (res) => {
        clearTimer();
        if (settled) return void res.destroy();
        settled = true;
        resolve(res);
      });
      req.on('error', (err) => {
        clearTimer();
        fail(upstreamFailure(err));
      });
      if (body.bytes) req.end(body.bytes);
      else if (body.stream) {
        // Counted as it passes: a body without a declared length is held to the same limit.
        pipeline(
          Readable.from(body.stream),
          limited(this.limits.requestBytes, () => new PayloadTooLargeError(this.limits.requestBytes)),
          req,
        ).catch((err: unknown) => {
          clearTimer();
          fail(err instanceof CredmanError ? err : upstreamFailure(err));
        });
      } else req.end();
    });
  }

  private answer(res: http.IncomingMessage, method: string, correlationId: string, refreshed: boolean | undefined, deadline: number): Omit<ProxyAnswer, 'tokensSent'> {
    const headers = callerResponseHeaders(res.headers, correlationId);
    if (refreshed !== undefined) headers[REFRESHED_HEADER] = String(refreshed);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 599) {
      res.destroy();
      throw new UpstreamUnavailableError(`The upstream answered with status ${status}, which HTTP functions cannot return.`);
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.limits.responseBytes) {
      res.destroy();
      throw new UpstreamUnavailableError(`The upstream's answer (${declared} bytes) exceeds the proxy's limit of ${this.limits.responseBytes} bytes.`);
    }
    if (method.toUpperCase() === 'HEAD' || status === 204 || status === 205 || status === 304) {
      res.resume();
      return { status, headers, body: null };
    }
    // Past the limit or the deadline the stream breaks off: the status has been sent, so the caller sees a truncated body.
    const body = res.pipe(limited(this.limits.responseBytes, () => new Error('The upstream answer exceeds the proxy limit.')));
    // Whoever reads the body sees the error (a destroyed stream keeps it); without a listener, one
    // raised before the reader came would be an uncaught exception, taking the instance down.
    body.on('error', () => undefined);
    const timer = setTimeout(() => body.destroy(new Error('The proxied exchange exceeded its time limit.')), Math.max(0, deadline - (this.options.now ?? Date.now)()));
    const done = () => clearTimeout(timer);
    body.once('close', () => {
      done();
      // The reader stopped (call_api's cut, the limit, the deadline): stop reading the upstream. A
      // caller that disconnects is not seen here: under HTTP streaming the library keeps reading the
      // body to its end (Azure/azure-functions-nodejs-library#294; docs/api.md, "Token proxy").
      res.destroy();
    });
    res.once('error', (err) => body.destroy(err));
    return { status, headers, body };
  }

  /** Closes the kept-alive upstream sockets (tests, shutdown). */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}

/** The caller may not set the header the token goes in: it is dropped before the token is attached. */
function withoutTokenHeader(headers: Iterable<[string, string]>, template: ProviderTemplate): [string, string][] {
  const name = (template.apiToken?.header ?? 'authorization').toLowerCase();
  return [...headers].filter(([k]) => k.toLowerCase() !== name);
}

/** A pass-through that fails once more than `limit` bytes went by. */
function limited(limit: number, error: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) callback(error());
      else callback(null, chunk);
    },
  });
}

/** What the caller learns of a failed connection: the kind, never the upstream's address. */
function upstreamFailure(err: unknown): CredmanError {
  if (err instanceof CredmanError) return err;
  if (err instanceof DestinationError) return new UpstreamUnavailableError(`The upstream API is not a destination credman calls: ${err.message}`, err);
  const code = (err as { code?: unknown }).code;
  return new UpstreamUnavailableError(`The upstream API could not be reached${typeof code === 'string' ? ` (${code})` : ''}.`, err);
}

/**
 * A body held to its Content-Length, read whole for a replay or streamed: never a byte more passes,
 * and one that ends short fails the exchange, rather than leave bytes on a pooled connection as the
 * start of another request (the host's framing already holds a client to it; this holds credman too).
 */
async function* exactly(body: AsyncIterable<Uint8Array>, declared: number): AsyncIterable<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > declared) throw new ValidationError('The body is longer than its Content-Length.');
    yield chunk;
  }
  if (size !== declared) throw new ValidationError('The body is shorter than its Content-Length.');
}
