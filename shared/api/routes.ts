import { z } from 'zod';
import { MCP_METADATA_ROUTE, MCP_ROUTE } from '../mcp/metadata';
import { OPERATION_ID_PATTERN } from '../model/constants';
import {
  accessPolicyPutSchema,
  accessPolicySchema,
  collectionOf,
  connectionPutSchema,
  connectionSchema,
  errorSchema,
  healthSchema,
  identityProviderSchema,
  myConnectionPutSchema,
  myProviderSchema,
  providerPutSchema,
  providerSchema,
} from '../model/schemas';
import {
  authorizationContextSchema,
  confirmConsentCodeSchema,
  connectSessionRequestSchema,
  connectSessionResponseSchema,
  loginLinksRequestSchema,
  loginLinksResponseSchema,
} from '../model/runtimeSchemas';
import { webhookPutSchema, webhookRotateSecretSchema, webhookSchema, webhookWithSecretSchema } from '../model/webhookSchemas';

// The HTTP API, declared once. Each key is the function's name and the published operationId;
// functions/lib/api.ts registers every entry (auth, path parameters, paging, body) and
// shared/api/openapi.ts publishes them. Adding an endpoint is an entry here plus its handler.
//
// The Functions host tries HTTP functions in the order of their names (ignoring case) and the first
// whose template and method match wins: a name must not let a broader template shadow a narrower
// one (test/local/routeOrder.test.ts walks every route).

/**
 * Who may call: the admin app role; the admin or the connect app role (an app starting consent
 * for its own users); an access policy on the connection; any signed-in person of a trusted issuer,
 * for their own self-service connections; a browser holding single-use consent state; anyone.
 */
export type AuthKind = 'admin' | 'connect' | 'policy' | 'person' | 'browser' | 'anonymous';
/** The kinds whose caller presents a bearer token: the handler gets the authenticated caller, the contract says `bearer`. */
export type CallerKind = Exclude<AuthKind, 'browser' | 'anonymous'>;
export const takesBearer = (auth: AuthKind): auth is CallerKind => auth !== 'browser' && auth !== 'anonymous';
export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface ResponseSpec {
  readonly status: string;
  readonly description: string;
  readonly schema?: z.ZodType;
  readonly headers?: Readonly<Record<string, object>>;
}

export interface QuerySpec {
  readonly name: string;
  readonly schema: object;
  readonly description: string;
}

export interface RouteSpec {
  /** `*`: every method (the catch-all). */
  readonly method: Method | '*';
  /** The template as `app.http` takes it, without the `/api` prefix. */
  readonly route: string;
  readonly auth: AuthKind;
  readonly summary: string;
  /** A JSON body, validated before the handler runs (415, 413, 400 otherwise). */
  readonly body?: z.ZodType;
  /** An empty request (no Content-Type, no bytes) stands for `{}`. */
  readonly bodyOptional?: boolean;
  /** Path parameters that are not resource identifiers (those default to identifierSchema). */
  readonly params?: Readonly<Record<string, z.ZodType<string>>>;
  /** Query parameters the handler reads (published; parsed by the handler). */
  readonly query?: readonly QuerySpec[];
  /** Takes `$top` and `$skipToken`; answers a collection page. */
  readonly paged?: boolean;
  /** Honours `If-Match`. */
  readonly conditional?: boolean;
  /** Starts or queries durable orchestrations: the function declares the durable client input. */
  readonly durable?: boolean;
  readonly responses: readonly ResponseSpec[];
  /** The route of this one's OAuth Protected Resource Metadata (RFC 9728): its 401s name it in `WWW-Authenticate` (`resource_metadata`). */
  readonly resourceMetadata?: string;
  /** Not part of the published contract (the catch-all, the console's files). */
  readonly unpublished?: boolean;
}

/** Operation ids: `cascade:<providerId>`, `rotateKeys` and the like. */
const operationIdSchema = z.string().regex(OPERATION_ID_PATTERN).meta({ description: '1-200 characters: letters, digits, ":", ".", "_" or "-", starting with a letter or digit' });

const found = (schema: z.ZodType) => [{ status: '200', schema, description: 'Found' }] as const;
const page = (schema: z.ZodType) => [{ status: '200', schema: collectionOf(schema), description: 'A page' }] as const;
const putAnswers = (schema: z.ZodType) =>
  [
    { status: '201', schema, description: 'Created' },
    { status: '200', schema, description: 'Replaced' },
  ] as const;
const deleted = [
  { status: '200', description: 'Deleted' },
  { status: '204', description: 'Did not exist' },
] as const;
const started = [{ status: '202', description: 'Started (or already running); Location is its status' }] as const;

const LOCATION = { Location: { description: 'Absolute URL of the new subscription (GET, PUT and DELETE it there).', schema: { type: 'string', format: 'uri' } } };
const withSecret = { status: '201', schema: webhookWithSecretSchema, description: 'Created, with its signing secret (shown this once)', headers: LOCATION } as const;

const PROVIDER = 'providers/{providerId}';
const CONNECTION = `${PROVIDER}/connections/{connectionId}`;
const POLICIES = `${CONNECTION}/accessPolicies`;
const WEBHOOK = 'webhooks/{subscriptionId}';
const MY_CONNECTION = 'me/providers/{providerId}/connection';

export const ROUTES = {
  listProviders: { method: 'GET', route: 'providers', auth: 'admin', summary: 'List providers', paged: true, responses: page(providerSchema) },
  getProvider: { method: 'GET', route: PROVIDER, auth: 'admin', summary: 'Get a provider', responses: found(providerSchema) },
  putProvider: {
    method: 'PUT',
    route: PROVIDER,
    auth: 'admin',
    summary: 'Create or replace a provider',
    body: providerPutSchema,
    conditional: true,
    responses: putAnswers(providerSchema),
  },
  deleteProvider: {
    method: 'DELETE',
    route: PROVIDER,
    auth: 'admin',
    summary: 'Delete a provider and its connections',
    conditional: true,
    durable: true,
    responses: [...deleted, { status: '202', description: 'Many connections: the cascade runs in the background; Location is its status' }],
  },

  listConnections: {
    method: 'GET',
    route: `${PROVIDER}/connections`,
    auth: 'admin',
    summary: 'List connections',
    paged: true,
    query: [{ name: '$filter', schema: { type: 'string' }, description: "Only `endUser/id eq '<id>'`: the connections of one end user of connect sessions (anything else is 400)." }],
    responses: page(connectionSchema),
  },
  getConnection: { method: 'GET', route: CONNECTION, auth: 'admin', summary: 'Get a connection', responses: found(connectionSchema) },
  putConnection: {
    method: 'PUT',
    route: CONNECTION,
    auth: 'admin',
    summary: 'Create or replace a connection',
    body: connectionPutSchema,
    conditional: true,
    durable: true,
    responses: putAnswers(connectionSchema),
  },
  deleteConnection: { method: 'DELETE', route: CONNECTION, auth: 'admin', summary: 'Delete a connection', conditional: true, durable: true, responses: deleted },
  getLoginLinks: {
    method: 'POST',
    route: `${CONNECTION}/getLoginLinks`,
    auth: 'admin',
    summary: 'A login link that starts consent for the connection (works once, 10 minutes; records the caller as its requester)',
    body: loginLinksRequestSchema,
    bodyOptional: true,
    responses: [{ status: '200', schema: loginLinksResponseSchema, description: 'The link' }],
  },
  confirmConsentCode: {
    method: 'POST',
    route: `${CONNECTION}/confirmConsentCode`,
    auth: 'connect',
    summary: 'Confirm the consent of a status=confirmationRequired redirect: the app vouches for its signed-in person (a connect-role caller only for the connect sessions it created)',
    body: confirmConsentCodeSchema,
    durable: true,
    responses: [
      {
        status: '200',
        schema: connectionSchema,
        description: 'The connection, holding the new tokens (400 InvalidConsentCode: used, expired, of another connection, or one the anti-phishing page holds, which only the person can confirm)',
      },
    ],
  },
  getToken: {
    method: 'POST',
    route: `${CONNECTION}/token`,
    auth: 'policy',
    summary: 'A fresh access token of the connection',
    query: [
      { name: 'minValidity', schema: { type: 'integer', minimum: 0, maximum: 86400, default: 180 }, description: 'Seconds of validity the token must have left (capped at half its lifetime).' },
      {
        name: 'forceRefresh',
        schema: { type: 'boolean', default: false },
        description:
          'Obtain a new token from the identity provider. A token obtained within CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS (30) satisfies it; beyond that, forced refreshes have budgets per caller, per connection and per OAuth client (429 when spent).',
      },
    ],
    responses: [
      { status: '200', schema: authorizationContextSchema, description: 'The authorization context' },
      {
        status: '429',
        schema: errorSchema,
        headers: { 'Retry-After': { description: 'Seconds until the budget allows another', schema: { type: 'integer' } } },
        description: 'TooManyRequests: a forced-refresh budget is spent (ask again without forceRefresh), or the connection reached CREDMAN_IDP_CALLS_PER_MINUTE with no valid token',
      },
    ],
  },

  // Any method: the caller's request goes to the provider's API with the connection's token (docs/api.md, "The token proxy").
  proxy: {
    method: '*',
    route: `proxy/{providerId}/{connectionId}/{*path}`,
    auth: 'policy',
    summary: "A request to the connection's API, with its access token attached",
    responses: [
      { status: '2XX', description: "The upstream's answer, status, headers and body as it gave them (less hop-by-hop headers, cookies and what would act on credman's origin)" },
      { status: '401', description: "The upstream's 401 when its request could not be sent again after a refresh (credman-token-refreshed says whether a new token exists); or Unauthenticated" },
      { status: '409', description: 'ConnectionNotConnected, ReauthorizationRequired, ProxyNotConfigured' },
      { status: '502', description: 'UpstreamUnavailable' },
      { status: '504', description: 'UpstreamTimeout' },
    ],
  },

  createConnectSession: {
    method: 'POST',
    route: 'connectSessions',
    auth: 'connect',
    summary: 'A single-use link (10 minutes) that lets one end user of the calling app connect their account: the connection and its access policies are created once they consent',
    body: connectSessionRequestSchema,
    responses: [{ status: '200', schema: connectSessionResponseSchema, description: 'The link and when it expires' }],
  },

  listAccessPolicies: { method: 'GET', route: POLICIES, auth: 'admin', summary: 'List access policies', paged: true, responses: page(accessPolicySchema) },
  getAccessPolicy: { method: 'GET', route: `${POLICIES}/{policyId}`, auth: 'admin', summary: 'Get an access policy', responses: found(accessPolicySchema) },
  putAccessPolicy: {
    method: 'PUT',
    route: `${POLICIES}/{policyId}`,
    auth: 'admin',
    summary: 'Create or replace an access policy',
    body: accessPolicyPutSchema,
    conditional: true,
    responses: putAnswers(accessPolicySchema),
  },
  deleteAccessPolicy: { method: 'DELETE', route: `${POLICIES}/{policyId}`, auth: 'admin', summary: 'Delete an access policy', conditional: true, responses: deleted },

  // Self-service (docs/api.md, "Self-service connections"): the caller's own connection, its id derived from their identity.
  listMyProviders: {
    method: 'GET',
    route: 'me/providers',
    auth: 'person',
    summary: "The providers offering self-service, each with the caller's own connection if any",
    responses: [{ status: '200', schema: collectionOf(myProviderSchema), description: 'All of them (one page)' }],
  },
  listMyConnections: {
    method: 'GET',
    route: 'me/connections',
    auth: 'person',
    summary: "The caller's own connections",
    responses: [{ status: '200', schema: collectionOf(connectionSchema), description: 'All of them (one page)' }],
  },
  getMyConnection: { method: 'GET', route: MY_CONNECTION, auth: 'person', summary: "The caller's own connection under the provider", responses: found(connectionSchema) },
  putMyConnection: {
    method: 'PUT',
    route: MY_CONNECTION,
    auth: 'person',
    summary: "Create the caller's own connection (idempotent) and its access policy for exactly them",
    body: myConnectionPutSchema,
    bodyOptional: true,
    responses: [
      ...putAnswers(connectionSchema),
      { status: '403', schema: errorSchema, description: 'SelfServiceDisabled: the provider does not offer self-service (or does not exist)' },
      { status: '409', schema: errorSchema, description: "ConnectionIdTaken: an administrator's connection holds the caller's id" },
    ],
  },
  deleteMyConnection: { method: 'DELETE', route: MY_CONNECTION, auth: 'person', summary: "Delete the caller's own connection and its access policies", durable: true, responses: deleted },
  getMyLoginLinks: {
    method: 'POST',
    route: `${MY_CONNECTION}/getLoginLinks`,
    auth: 'person',
    summary: "A login link for the caller's own connection (connect or reconnect; works once, 10 minutes)",
    body: loginLinksRequestSchema,
    bodyOptional: true,
    responses: [{ status: '200', schema: loginLinksResponseSchema, description: 'The link' }],
  },
  confirmMyConsentCode: {
    method: 'POST',
    route: `${MY_CONNECTION}/confirmConsentCode`,
    auth: 'person',
    summary: 'The person confirms the consent code of their own sign-in, with their own token',
    body: confirmConsentCodeSchema,
    durable: true,
    responses: [{ status: '200', schema: connectionSchema, description: 'The connection, holding the new tokens (400 ValidationError/InvalidConsentCode: used, expired or of another connection)' }],
  },

  // The MCP server for AI agents (docs/mcp.md): JSON-RPC over streamable HTTP, stateless. Any
  // authenticated caller reaches it; each tool checks what the caller may do (policies, self-service).
  mcp: {
    method: '*',
    route: MCP_ROUTE,
    auth: 'policy',
    summary: 'The MCP endpoint (streamable HTTP, stateless): POST one JSON-RPC message (a batch of several: 400); the tools act as the caller',
    resourceMetadata: MCP_METADATA_ROUTE,
    responses: [
      { status: '200', description: 'POST: the JSON-RPC answer (application/json)' },
      { status: '202', description: 'POST of notifications or responses only: accepted' },
      { status: '400', description: 'A batch of several messages (JSON-RPC -32600): one message per POST' },
      { status: '401', description: 'Unauthenticated, with WWW-Authenticate: Bearer resource_metadata="<the RFC 9728 metadata URL>"' },
      { status: '405', description: 'GET, PUT, PATCH, DELETE: no server stream and no session (stateless); Allow: POST' },
    ],
  },
  mcpResourceMetadata: {
    method: 'GET',
    route: MCP_METADATA_ROUTE,
    auth: 'anonymous',
    summary: 'OAuth Protected Resource Metadata (RFC 9728) of the MCP endpoint: which issuers it accepts tokens from',
    responses: [{ status: '200', description: '{ resource, authorization_servers, bearer_methods_supported, resource_name }' }],
  },

  listWebhooks: { method: 'GET', route: 'webhooks', auth: 'admin', summary: 'List webhook subscriptions', paged: true, responses: page(webhookSchema) },
  createWebhook: {
    method: 'POST',
    route: 'webhooks',
    auth: 'admin',
    summary: 'Create a subscription under an id the server chooses (wh-…)',
    body: webhookPutSchema,
    responses: [withSecret],
  },
  getWebhook: { method: 'GET', route: WEBHOOK, auth: 'admin', summary: 'Get a webhook subscription', responses: found(webhookSchema) },
  putWebhook: {
    method: 'PUT',
    route: WEBHOOK,
    auth: 'admin',
    summary: 'Create or replace a webhook subscription',
    body: webhookPutSchema,
    conditional: true,
    responses: [withSecret, { status: '200', schema: webhookSchema, description: 'Replaced' }],
  },
  rotateWebhookSecret: {
    method: 'POST',
    route: `${WEBHOOK}/rotateSecret`,
    auth: 'admin',
    summary: 'Issue a new signing secret (shown this once); the previous one keeps signing beside it for keepPreviousSecretForHours',
    body: webhookRotateSecretSchema,
    conditional: true,
    responses: [{ status: '200', schema: webhookWithSecretSchema, description: 'The new secret; both sign until previousSecretExpiresOn' }],
  },
  deleteWebhook: { method: 'DELETE', route: WEBHOOK, auth: 'admin', summary: 'Delete a webhook subscription', conditional: true, responses: deleted },

  listIdentityProviders: {
    method: 'GET',
    route: 'identityProviders',
    auth: 'admin',
    summary: 'The provider catalogue',
    responses: [{ status: '200', schema: collectionOf(identityProviderSchema), description: 'Templates' }],
  },

  consentStart: {
    method: 'GET',
    route: 'consent/start',
    auth: 'browser',
    summary: 'Follows a login link (the first follow consumes it): redirects to the identity provider',
    query: [{ name: 'state', schema: { type: 'string' }, description: 'The login link state.' }],
    responses: [
      { status: '302', description: 'To the authorization endpoint, with a new state and a cookie binding the sign-in to this browser' },
      { status: '400', description: 'An HTML page: LoginLinkUsed (followed already) or InvalidState (expired, never issued)' },
    ],
  },
  consentCallback: {
    method: 'GET',
    route: 'consent/callback',
    auth: 'browser',
    summary: "The identity provider's redirect back",
    durable: true,
    query: [
      { name: 'state', schema: { type: 'string' }, description: 'The state sent to the identity provider.' },
      { name: 'code', schema: { type: 'string' }, description: 'The authorization code.' },
      { name: 'error', schema: { type: 'string' }, description: 'The OAuth error, instead of a code.' },
      { name: 'iss', schema: { type: 'string' }, description: 'RFC 9207 issuer of the response.' },
    ],
    responses: [
      { status: '302', description: 'To postLoginRedirectUrl with status=confirmationRequired&consentCode=… or status=error&code=…' },
      { status: '200', description: 'Without a redirect URL: the HTML confirmation page (connection, provider, account, requester)' },
      { status: '400', description: 'An HTML page: InvalidState, BrowserMismatch (not the browser that followed the link) or the sign-in error' },
    ],
  },
  consentConfirm: {
    method: 'POST',
    route: 'consent/confirm',
    auth: 'browser',
    summary: 'The answer of the confirmation page (form post, from the browser that signed in)',
    durable: true,
    responses: [
      { status: '200', description: 'An HTML page: connected' },
      { status: '400', description: 'An HTML page: ConsentNotConfirmed (the person cancelled) or InvalidConsentCode' },
      { status: '403', description: 'An HTML page: BrowserMismatch (another browser); nothing is taken' },
    ],
  },

  getOperation: {
    method: 'GET',
    route: 'operations/{operationId}',
    auth: 'admin',
    summary: 'Where a background operation (provider cascade, key rotation) stands',
    params: { operationId: operationIdSchema },
    durable: true,
    responses: [{ status: '200', description: '{ id, name, status, progress?, result?, createdOn, changedOn }' }],
  },
  rotateKeysNow: {
    method: 'POST',
    route: 'operations/rotateKeys',
    auth: 'admin',
    summary: 'Rewrap every data key to the current KEK version now (also daily)',
    durable: true,
    responses: started,
  },

  health: {
    method: 'GET',
    route: 'health',
    auth: 'anonymous',
    summary: 'Health of storage and Key Vault',
    responses: [
      { status: '200', schema: healthSchema, description: 'Healthy' },
      { status: '503', schema: healthSchema, description: 'A dependency fails' },
    ],
  },
  // The console's files (docs/console.md). No other template starts with `console/`, so its
  // catch-all shadows nothing whatever its name's place in the order.
  console: {
    method: 'GET',
    route: 'console/{*path}',
    auth: 'anonymous',
    summary: 'The console: its pages, built files and sign-in configuration (config.json)',
    responses: [
      { status: '200', description: 'A file of the console; index.html for a page of the app' },
      { status: '404', description: 'No such file (text)' },
    ],
    unpublished: true,
  },
  openApi: { method: 'GET', route: 'openapi.json', auth: 'anonymous', summary: 'This document', responses: [{ status: '200', description: 'OpenAPI 3.1' }] },

  // Sorts last by name, so it is tried after every other function: anything else under /api gets
  // the API's 404 rather than the host's empty one.
  zzNotFound: { method: '*', route: '{*path}', auth: 'anonymous', summary: 'No such route or method', unpublished: true, responses: [{ status: '404', description: 'NotFound' }] },
} as const satisfies Record<string, RouteSpec>;

export type RouteName = keyof typeof ROUTES;

/** `{name}` parameters of a template, catch-alls excluded. */
export function pathParameters(route: string): string[] {
  return [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
}
