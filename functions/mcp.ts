import type { HttpRequest } from '@azure/functions';
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

export async function mcp({ request, services, caller }: Call<'mcp'>) {
  if (request.method !== 'POST') {
    // The spec lets a server without a GET stream answer 405; a stateless one has no session to DELETE.
    return {
      status: 405,
      headers: { Allow: 'POST', 'Content-Type': 'application/json' },
      jsonBody: { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless; POST each message.' }, id: null },
    };
  }
  const answer = await endpoint().answerMcp(caller, services.mcp, await webRequest(request));
  return { status: answer.status, headers: Object.fromEntries(answer.headers), body: await answer.text() };
}

export async function mcpResourceMetadata(_: Call<'mcpResourceMetadata'>) {
  const { settings } = await getServices();
  return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=3600' }, jsonBody: protectedResourceMetadata(settings) };
}

/** The request as the SDK takes it: a web Request, its body read within the bound. */
async function webRequest(request: HttpRequest): Promise<Request> {
  if (Number(request.headers.get('content-length') ?? '0') > MAX_MESSAGE_BYTES) throw new PayloadTooLargeError(MAX_MESSAGE_BYTES);
  const body = await readCapped(request, MAX_MESSAGE_BYTES);
  if (body === undefined) throw new PayloadTooLargeError(MAX_MESSAGE_BYTES);
  return new Request(request.url, { method: request.method, headers: request.headers, body: new Uint8Array(body) });
}
