import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Caller } from '../identity/caller';
import { mcpServerFor, type McpDeps } from './tools';

// One MCP message exchange: the SDK's web-standard streamable HTTP transport, stateless (no
// session id: any instance answers any request) with JSON answers (no SSE stream to hold open). A
// server and a transport per request, for the caller our own authentication established.

export async function answerMcp(caller: Caller, deps: McpDeps, request: Request): Promise<Response> {
  const server = mcpServerFor(caller, deps);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    const answer = await transport.handleRequest(request);
    // Read before the server closes: the answer's body is written by it.
    return new Response(await answer.text(), { status: answer.status, headers: answer.headers });
  } finally {
    await server.close();
  }
}
