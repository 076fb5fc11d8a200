import type { HttpRequest } from '@azure/functions';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream, ReadableStreamDefaultReader } from 'node:stream/web';
import { ValidationError } from '../shared/errors';
import { CORRELATION_HEADER } from '../shared/proxy/headers';
import type { Call } from './lib/api';

// The token proxy (shared/proxy): the caller's request, path and query as they were sent, goes to
// the connection's API; its answer streams back.

export async function proxy({ request, services, caller, params }: Call<'proxy'>) {
  const answer = await services.proxy.forward(
    caller,
    params.providerId,
    params.connectionId,
    {
      method: request.method,
      ...rawTarget(request, params.providerId, params.connectionId),
      headers: request.headers,
      body: bodyOf(request),
    },
    request.headers.get(CORRELATION_HEADER),
  );
  return { status: answer.status, headers: answer.headers, ...(answer.body ? { body: answer.body } : {}) };
}

/**
 * The caller's body as it arrives; none for GET and HEAD (not even read: the request object builds
 * its stream on demand). Given up part-way (the upstream refused it, or failed), the rest is still
 * read and dropped: the host sends a request's whole body to the worker before it reads the answer
 * (docs/local-host.md, "HTTP streaming"), so a body left half-read would stall that connection.
 */
function bodyOf(request: HttpRequest): Readable | null {
  if (request.method === 'GET' || request.method === 'HEAD' || !request.body) return null;
  const reader = (request.body as NodeReadableStream<Uint8Array>).getReader();
  return new Readable({
    read() {
      reader.read().then(
        ({ done, value }) => void this.push(done ? null : value),
        (err: Error) => this.destroy(err),
      );
    },
    destroy(err, callback) {
      void drain(reader);
      callback(err);
    },
  });
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // The caller went away: nothing left to read.
  }
}

/**
 * The path under the connection and the query, still percent-encoded as the caller sent them (the
 * route's `{*path}` is decoded): taken from the URL after `proxy/{providerId}/{connectionId}/`.
 * Identifiers are plain characters, so they appear in the URL as they are in the parameters.
 */
function rawTarget(request: HttpRequest, providerId: string, connectionId: string): { rawPath: string; search: string } {
  const url = new URL(request.url);
  const marker = `/proxy/${providerId}/${connectionId}`.toLowerCase();
  const at = url.pathname.toLowerCase().indexOf(marker);
  const rest = at < 0 ? undefined : url.pathname.slice(at + marker.length);
  if (rest === undefined || (rest !== '' && !rest.startsWith('/'))) {
    throw new ValidationError('Write the provider and connection ids of a proxied request without percent-encoding.', [
      { code: 'InvalidValue', target: 'path', message: 'proxy/{providerId}/{connectionId}/{path}' },
    ]);
  }
  return { rawPath: rest.slice(1), search: url.search };
}
