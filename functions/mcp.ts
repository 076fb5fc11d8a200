import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { PayloadTooLargeError } from '../shared/errors';
import { protectedResourceMetadata } from '../shared/mcp/metadata';
import type { Call } from './lib/api';
import { readCapped } from './lib/http';
import { getServices } from './lib/runtime';

// The MCP endpoint (docs/mcp.md; the exchange itself is shared/mcp/endpoint.ts). The SDK (some
// 80 modules) is loaded by the first MCP request, not by every cold start of the app.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const endpoint = () => require('../shared/mcp/endpoint') as typeof import('../shared/mcp/endpoint');

/** A JSON-RPC message or batch: the tools' arguments are small (call_api's body at most 64 KiB of text). */
const MAX_MESSAGE_BYTES = 256 * 1024;

export async function mcp({ request, services, caller }: Call<'mcp'>): Promise<HttpResponseInit> {
  if (request.method !== 'POST') {
    // The spec lets a server without a GET stream answer 405; a stateless one has no session to DELETE.
    return {
      status: 405,
      headers: { Allow: 'POST', 'Content-Type': 'application/json' },
      jsonBody: { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless; POST each message.' }, id: null },
    };
  }
  const body = await boundedBody(request);
  if (isBatch(body)) {
    return {
      status: 400,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid Request: one JSON-RPC message per POST (batches are not supported).' }, id: null },
    };
  }
  const answer = await endpoint().answerMcp(caller, services.mcp, new Request(request.url, { method: request.method, headers: request.headers, body: new Uint8Array(body) }));
  return { status: answer.status, headers: Object.fromEntries(answer.headers), body: await answer.text() };
}

export async function mcpResourceMetadata(_: Call<'mcpResourceMetadata'>) {
  const { settings } = await getServices();
  return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=3600' }, jsonBody: protectedResourceMetadata(settings) };
}

/** The request's body, read within the bound. */
async function boundedBody(request: HttpRequest): Promise<Buffer> {
  if (Number(request.headers.get('content-length') ?? '0') > MAX_MESSAGE_BYTES) throw new PayloadTooLargeError(MAX_MESSAGE_BYTES);
  const body = await readCapped(request, MAX_MESSAGE_BYTES);
  if (body === undefined) throw new PayloadTooLargeError(MAX_MESSAGE_BYTES);
  return body;
}

/**
 * A batch of several messages: refused, one message per POST. The protocol dropped batches
 * (2025-06-18) and the SDK's client never sends them, while the SDK's server would run up to 100
 * tool calls of one POST at once (100 proxied requests, or 100 list_connections scans of up to
 * 200 policy reads each). Anything that is not JSON is left to the SDK to answer.
 */
function isBatch(body: Buffer): boolean {
  try {
    const message: unknown = JSON.parse(body.toString('utf8'));
    return Array.isArray(message) && message.length > 1;
  } catch {
    return false;
  }
}
