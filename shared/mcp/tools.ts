import { Readable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isExposed } from '../errors';
import { requirePerson, type Caller } from '../identity/caller';
import type { SelfServiceService } from '../management/selfService';
import { identifierSchema } from '../model/identifiers';
import type { ProxyService } from '../proxy/proxyService';
import type { TokenService } from '../tokens/tokenService';
import type { McpDirectory } from './directory';

// The MCP server's tools (docs/mcp.md). A server is built per request for one authenticated
// caller and acts as that caller only: every tool goes through the same services, policy checks
// and self-service rules as the HTTP API. No tool result holds a token except get_token's, on a
// connection whose administrator turned agentTokenAccess on: `call_api` returns the upstream's
// status and body, never the request credman sent, and strikes out the token where the upstream
// reflected it.

/** How much of an upstream body `call_api` returns (as text); the rest is cut and said so. */
export const MAX_RESULT_BYTES = 64 * 1024;
/** How large a request body `call_api` sends. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;

export interface McpDeps {
  directory: McpDirectory;
  selfService: SelfServiceService;
  proxy: ProxyService;
  tokens: Pick<TokenService, 'getToken'>;
  /** The connection's agentTokenAccess switch, read from its row as verified with the envelope (a tampered row throws). */
  agentTokenAccess: (providerId: string, connectionId: string) => Promise<boolean>;
  /** Where a tool's unexpected failure is logged (by type and code only: the model gets a generic error). */
  log: (level: 'error', message: string) => void;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const text = (value: unknown): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown> });

/** A tool error the model can read: the API's code and message; anything else is logged by type and answered generically. */
function failure(tool: string, err: unknown, log: McpDeps['log']): CallToolResult {
  if (isExposed(err)) return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}` }] };
  const code = (err as { code?: unknown } | null)?.code;
  log('error', `mcp ${tool}: unhandled ${err instanceof Error ? err.name : typeof err}${typeof code === 'string' ? ` (${code})` : ''}`);
  return { isError: true, content: [{ type: 'text', text: 'InternalError: the request failed.' }] };
}

/** The MCP server for one caller. Build one per request: it holds the caller, and the stateless transport is single-use. */
export function mcpServerFor(caller: Caller, deps: McpDeps): McpServer {
  const guarded = async (tool: string, run: () => Promise<CallToolResult>): Promise<CallToolResult> => {
    try {
      return await run();
    } catch (err) {
      return failure(tool, err, deps.log);
    }
  };
  const server = new McpServer({ name: 'credman', version: '1.0.0' }, { capabilities: { tools: {} } });

  server.registerTool(
    'list_connections',
    {
      title: 'List usable connections',
      description:
        "The connections you may use, with their status (Connected, Pending, ReauthorizationRequired, ...): connections an access policy grants you, and, for a signed-in person, the providers offering self-service with the person's own connection (status NotCreated: call connect).",
      inputSchema: {},
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => guarded('list_connections', async () => text(await deps.directory.usable(caller))),
  );

  server.registerTool(
    'connect',
    {
      title: 'Connect an account',
      description:
        "For a signed-in person, under a provider offering self-service: creates (or reuses) the person's own connection and returns a login link. Show the link to the person; they open it in a browser, sign in at the provider and confirm. Then list_connections shows it Connected.",
      inputSchema: { providerId: identifierSchema.describe('The provider (see list_connections)') },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ providerId }) =>
      guarded('connect', async () => {
        requirePerson(caller);
        const { resource } = await deps.selfService.put(caller, providerId);
        const { loginLink } = await deps.selfService.getLoginLink(caller, providerId);
        return text({
          providerId,
          connectionId: resource.name,
          status: resource.properties.status,
          loginLink,
          instructions: 'Show this link to the person: it works once, for 10 minutes, in their browser. They sign in at the provider and confirm on the page credman shows.',
        });
      }),
  );

  server.registerTool(
    'call_api',
    {
      title: "Call a connection's API",
      description:
        "Sends a request to the provider's API through credman's token proxy, with the connection's access token attached (you never see the token). Answers the upstream's status, content type and body as text (cut at 64 KiB).",
      inputSchema: {
        providerId: identifierSchema.describe('The provider'),
        connectionId: identifierSchema.describe('The connection (see list_connections)'),
        method: z.enum(METHODS).default('GET'),
        path: z.string().max(4096).describe("The path under the provider's API root, with any query: `repos/o/r/issues?state=open`"),
        // A header value: control characters (CR LF) would be refused by Node as the request is built.
        contentType: z
          .string()
          .max(200)
          // eslint-disable-next-line no-control-regex -- control characters are what it finds
          .regex(/^[^\u0000-\u001f\u007f]*$/, 'No control characters.')
          .optional()
          .describe('Content-Type of the body'),
        body: z.string().max(MAX_REQUEST_BODY_BYTES).optional().describe('The request body, as text'),
      },
      annotations: { readOnlyHint: false, openWorldHint: true },
    },
    (args) =>
      guarded('call_api', async () => {
        const at = args.path.indexOf('?');
        const rawPath = (at < 0 ? args.path : args.path.slice(0, at)).replace(/^\/+/, '');
        const search = at < 0 ? '' : args.path.slice(at);
        const headers: [string, string][] = [['accept', 'application/json, text/*;q=0.9, */*;q=0.1']];
        if (args.contentType) headers.push(['content-type', args.contentType]);
        const bytes = args.body === undefined ? undefined : Buffer.from(args.body, 'utf8');
        if (bytes) headers.push(['content-length', String(bytes.length)]);
        const answer = await deps.proxy.forward(caller, args.providerId, args.connectionId, { method: args.method, rawPath, search, headers, body: bytes ? Readable.from([bytes]) : null }, null);
        const { body, truncated } = await readBounded(answer.body, MAX_RESULT_BYTES);
        const contentType = answer.headers['content-type'];
        return text({
          status: answer.status,
          ...(contentType ? { contentType: withoutTokens(contentType, answer.tokensSent, false) } : {}),
          body: withoutTokens(body, answer.tokensSent, truncated),
          ...(truncated ? { truncated: true } : {}),
        });
      }),
  );

  // Raw tokens stay out of the model's context unless an administrator turned the connection's
  // agentTokenAccess on (docs/mcp.md, "get_token and agentTokenAccess"). The caller's access policy is checked first
  // (Forbidden says nothing of the switch); the switch is read after, from the verified row, so
  // turning it off takes effect at once on every instance.
  server.registerTool(
    'get_token',
    {
      title: "A connection's access token",
      description: "The connection's raw access token: only where an administrator enabled it for the connection (off by default). Prefer call_api, which never shows the token.",
      inputSchema: { providerId: identifierSchema, connectionId: identifierSchema },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ providerId, connectionId }) =>
      guarded('get_token', async () => {
        const { context } = await deps.tokens.getToken(caller, providerId, connectionId);
        if (!(await deps.agentTokenAccess(providerId, connectionId))) {
          return {
            isError: true,
            content: [{ type: 'text', text: 'TokenExposureNotEnabled: raw tokens are not enabled for this connection (an administrator turns on agentTokenAccess); use call_api.' }],
          };
        }
        return text({ accessToken: context.accessToken, tokenType: context.tokenType, ...(context.expiresOn ? { expiresOn: context.expiresOn } : {}) });
      }),
  );

  return server;
}

/** What stands for a token an upstream reflected. */
export const TOKEN_MARK = '[token]';
/** A cut token's first characters are struck out from this many on: fewer tell nothing of it. */
const CUT_PREFIX_MIN = 8;

/**
 * The text with every token struck out, as sent and percent-encoded (reflected in a URL); when the
 * text was cut, also a token's first part at its end.
 */
export function withoutTokens(text: string, tokens: readonly string[], cut: boolean): string {
  let out = text;
  for (const token of tokens) for (const form of new Set([token, encodeURIComponent(token)])) out = out.split(form).join(TOKEN_MARK);
  if (!cut) return out;
  for (const token of tokens) {
    for (let n = Math.min(token.length - 1, out.length); n >= CUT_PREFIX_MIN; n--) {
      if (out.endsWith(token.slice(0, n))) {
        out = out.slice(0, -n) + TOKEN_MARK;
        break;
      }
    }
  }
  return out;
}

/** The first `max` bytes of a body as UTF-8 text; the rest is dropped (the upstream's socket closed). */
async function readBounded(body: Readable | null, max: number): Promise<{ body: string; truncated: boolean }> {
  if (!body) return { body: '', truncated: false };
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const left = max - size;
    if (chunk.length > left) {
      chunks.push(chunk.subarray(0, left));
      truncated = true;
      body.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: new TextDecoder('utf-8').decode(Buffer.concat(chunks)), truncated };
}
