import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { PayloadTooLargeError } from '../shared/errors';
import { protectedResourceMetadata } from '../shared/mcp/metadata';
import { mcpServerFor } from '../shared/mcp/tools';
import type { Call } from './lib/api';
import { getServices } from './lib/runtime';

// The MCP endpoint (docs/mcp.md): the SDK's web-standard streamable HTTP transport, stateless (no
// session id: any instance answers any request) with JSON answers (no SSE stream to hold open). A
// server and a transport per request, for the caller our own authentication established.

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
  const server = mcpServerFor(caller, services.mcp);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    const answer = await transport.handleRequest(new Request(request.url, { method: request.method, headers: request.headers, body }));
    return { status: answer.status, headers: Object.fromEntries(answer.headers), body: await answer.text() };
  } finally {
    await server.close();
  }
}

export async function mcpResourceMetadata(_: Call<'mcpResourceMetadata'>) {
  const { settings } = await getServices();
  return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=3600' }, jsonBody: protectedResourceMetadata(settings) };
}

/** The request's body, read within the bound. */
async function boundedBody(request: HttpRequest): Promise<Buffer<ArrayBuffer>> {
  if (Number(request.headers.get('content-length') ?? '0') > MAX_MESSAGE_BYTES) throw new PayloadTooLargeError(MAX_MESSAGE_BYTES);
  const body = Buffer.from(await request.arrayBuffer());
  if (body.length > MAX_MESSAGE_BYTES) throw new PayloadTooLargeError(MAX_MESSAGE_BYTES);
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
