import { z } from 'zod';
import { identifierSchema } from '../model/identifiers';
import {
  accessPolicyPutSchema,
  accessPolicySchema,
  collectionOf,
  connectionPutSchema,
  connectionSchema,
  errorSchema,
  healthSchema,
  identityProviderSchema,
  providerPutSchema,
  providerSchema,
} from '../model/schemas';
import { webhookDeliverySchema, webhookPutSchema, webhookRotateSecretSchema, webhookSchema, webhookWithSecretSchema } from '../model/webhookSchemas';
import { authorizationContextSchema, confirmConsentCodeSchema, loginLinksRequestSchema, loginLinksResponseSchema } from '../model/runtimeSchemas';

// OpenAPI 3.1 from the zod schemas that validate requests: JSON Schema 2020-12 is OpenAPI 3.1's
// dialect, so zod's own converter produces the component schemas.

type Method = 'get' | 'put' | 'post' | 'delete';
interface Operation {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  request?: z.ZodType;
  response?: { status: string; schema?: z.ZodType; description: string; headers?: Record<string, object> }[];
  admin?: boolean;
  /** Authorised by an access policy on the connection instead of the admin role. */
  policy?: boolean;
  query?: { name: string; schema: object; description: string }[];
  paged?: boolean;
  conditional?: boolean;
}

const P = '/providers/{providerId}';
const C = `${P}/connections/{connectionId}`;
const A = `${C}/accessPolicies/{policyId}`;

const crud = (base: string, item: string, name: string, schema: z.ZodType, put: z.ZodType): Operation[] => [
  { method: 'get', path: base, operationId: `list${name}s`, summary: `List ${name}s`, admin: true, paged: true, response: [{ status: '200', schema: collectionOf(schema), description: 'A page' }] },
  { method: 'get', path: item, operationId: `get${name}`, summary: `Get a ${name}`, admin: true, response: [{ status: '200', schema, description: 'Found' }] },
  {
    method: 'put',
    path: item,
    operationId: `put${name}`,
    summary: `Create or replace a ${name}`,
    admin: true,
    conditional: true,
    request: put,
    response: [
      { status: '201', schema, description: 'Created' },
      { status: '200', schema, description: 'Replaced' },
    ],
  },
  {
    method: 'delete',
    path: item,
    operationId: `delete${name}`,
    summary: `Delete a ${name}`,
    admin: true,
    conditional: true,
    response: [
      { status: '200', description: 'Deleted' },
      ...(name === 'Provider' ? [{ status: '202', description: 'Many connections: the cascade runs in the background; Location is its status' }] : []),
      { status: '204', description: 'Did not exist' },
    ],
  },
];

const LOCATION = { Location: { description: 'Absolute URL of the new subscription (GET, PUT and DELETE it there).', schema: { type: 'string', format: 'uri' } } };

/** Webhook subscriptions: the CRUD routes, Location on a PUT that creates, and POST for a server-chosen id. */
const webhookOperations = (): Operation[] => [
  ...crud('/webhooks', '/webhooks/{subscriptionId}', 'Webhook', webhookSchema, webhookPutSchema).map((op) =>
    op.operationId === 'putWebhook'
      ? {
          ...op,
          response: op.response?.map((r) => (r.status === '201' ? { ...r, schema: webhookWithSecretSchema, description: 'Created, with its signing secret (shown this once)', headers: LOCATION } : r)),
        }
      : op,
  ),
  {
    method: 'post',
    path: '/webhooks',
    operationId: 'createWebhook',
    summary: 'Create a subscription under an id the server chooses (wh-…)',
    admin: true,
    request: webhookPutSchema,
    response: [{ status: '201', schema: webhookWithSecretSchema, description: 'Created, with its signing secret (shown this once)', headers: LOCATION }],
  },
  {
    method: 'post',
    path: '/webhooks/{subscriptionId}/rotateSecret',
    operationId: 'rotateWebhookSecret',
    admin: true,
    conditional: true,
    summary: 'Issue a new signing secret (shown this once); the previous one keeps signing beside it for keepPreviousSecretForHours',
    request: webhookRotateSecretSchema,
    response: [{ status: '200', schema: webhookWithSecretSchema, description: 'The new secret; both sign until previousSecretExpiresOn' }],
  },
];

const DELIVERY_HEADERS = [
  ['webhook-id', "The delivery id (the body's id): the same on every retry; deduplicate on it."],
  ['webhook-timestamp', 'Unix seconds of this attempt; refuse a delivery outside your tolerance (the standardwebhooks library allows 5 minutes).'],
  [
    'webhook-signature',
    'v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">, one per signing secret, space-separated (two during a rotation). Verify with Webhook.verify of the standardwebhooks library. Absent only for a subscription an earlier credman saved without a secret (signed: false).',
  ],
  ['X-Credman-Event', 'The event type (unsigned; the signed body carries it too).'],
] as const;

/** What credman sends to a subscription (OpenAPI 3.1 `webhooks`): the Standard Webhooks headers and the body. */
const deliveryDescription = () => ({
  event: {
    post: {
      operationId: 'webhookDelivery',
      summary: 'A delivery to a subscription (Standard Webhooks)',
      parameters: DELIVERY_HEADERS.map(([name, description]) => ({ name, in: 'header', required: name !== 'webhook-signature', description, schema: { type: 'string' } })),
      requestBody: { required: true, content: { 'application/json': { schema: schemaOf(webhookDeliverySchema) } } },
      responses: { '2XX': { description: 'Delivered. Anything else fails; 5xx, 408, 429 and connection failures are retried.' } },
    },
  },
});

export const OPERATIONS: readonly Operation[] = [
  ...crud('/providers', P, 'Provider', providerSchema, providerPutSchema),
  ...crud(`${P}/connections`, C, 'Connection', connectionSchema, connectionPutSchema),
  ...crud(`${C}/accessPolicies`, A, 'AccessPolicy', accessPolicySchema, accessPolicyPutSchema),
  ...webhookOperations(),
  {
    method: 'get',
    path: '/identityProviders',
    operationId: 'listIdentityProviders',
    summary: 'The provider catalogue',
    admin: true,
    response: [{ status: '200', schema: collectionOf(identityProviderSchema), description: 'Templates' }],
  },
  {
    method: 'get',
    path: '/health',
    operationId: 'health',
    summary: 'Health of storage and Key Vault',
    response: [
      { status: '200', schema: healthSchema, description: 'Healthy' },
      { status: '503', schema: healthSchema, description: 'A dependency fails' },
    ],
  },
  {
    method: 'post',
    path: `${C}/getLoginLinks`,
    operationId: 'getLoginLinks',
    summary: 'A login link that starts consent for the connection (works once, 10 minutes; records the caller as its requester)',
    admin: true,
    request: loginLinksRequestSchema,
    response: [{ status: '200', schema: loginLinksResponseSchema, description: 'The link' }],
  },
  {
    method: 'post',
    path: `${C}/confirmConsentCode`,
    operationId: 'confirmConsentCode',
    summary: 'Confirm the consent of a status=confirmationRequired redirect: the app vouches for its signed-in person',
    admin: true,
    request: confirmConsentCodeSchema,
    response: [
      {
        status: '200',
        schema: connectionSchema,
        description: 'The connection, holding the new tokens (400 InvalidConsentCode: used, expired, of another connection, or one the anti-phishing page holds, which only the person can confirm)',
      },
    ],
  },
  {
    method: 'post',
    path: `${C}/token`,
    operationId: 'getToken',
    summary: 'A fresh access token of the connection',
    policy: true,
    query: [
      { name: 'minValidity', schema: { type: 'integer', minimum: 0, maximum: 86400, default: 180 }, description: 'Seconds of validity the token must have left (capped at half its lifetime).' },
      {
        name: 'forceRefresh',
        schema: { type: 'boolean', default: false },
        description:
          'Obtain a new token from the identity provider. A token obtained within CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS (30) satisfies it; beyond that, forced refreshes have budgets per caller, per connection and per OAuth client (429 when spent).',
      },
    ],
    response: [
      { status: '200', schema: authorizationContextSchema, description: 'The authorization context' },
      {
        status: '429',
        schema: errorSchema,
        headers: { 'Retry-After': { description: 'Seconds until the budget allows another', schema: { type: 'integer' } } },
        description: 'TooManyRequests: a forced-refresh budget is spent (ask again without forceRefresh), or the connection reached CREDMAN_IDP_CALLS_PER_MINUTE with no valid token',
      },
    ],
  },
  {
    method: 'get',
    path: '/consent/start',
    operationId: 'consentStart',
    summary: 'Follows a login link (the first follow consumes it): redirects to the identity provider',
    query: [{ name: 'state', schema: { type: 'string' }, description: 'The login link state.' }],
    response: [
      { status: '302', description: 'To the authorization endpoint, with a new state and a cookie binding the sign-in to this browser' },
      { status: '400', description: 'An HTML page: LoginLinkUsed (followed already) or InvalidState (expired, never issued)' },
    ],
  },
  {
    method: 'get',
    path: '/consent/callback',
    operationId: 'consentCallback',
    summary: "The identity provider's redirect back",
    query: [
      { name: 'state', schema: { type: 'string' }, description: 'The state sent to the identity provider.' },
      { name: 'code', schema: { type: 'string' }, description: 'The authorization code.' },
      { name: 'error', schema: { type: 'string' }, description: 'The OAuth error, instead of a code.' },
      { name: 'iss', schema: { type: 'string' }, description: 'RFC 9207 issuer of the response.' },
    ],
    response: [
      { status: '302', description: 'To postLoginRedirectUrl with status=confirmationRequired&consentCode=… or status=error&code=…' },
      { status: '200', description: 'Without a redirect URL: the HTML confirmation page (connection, provider, account, requester)' },
      { status: '400', description: 'An HTML page: InvalidState, BrowserMismatch (not the browser that followed the link) or the sign-in error' },
    ],
  },
  {
    method: 'post',
    path: '/consent/confirm',
    operationId: 'consentConfirm',
    summary: 'The answer of the confirmation page (form post, from the browser that signed in)',
    response: [
      { status: '200', description: 'An HTML page: connected, or cancelled' },
      { status: '400', description: 'An HTML page: InvalidConsentCode' },
      { status: '403', description: 'An HTML page: BrowserMismatch (another browser); nothing is taken' },
    ],
  },
  {
    method: 'get',
    path: '/operations/{operationId}',
    operationId: 'getOperation',
    summary: 'Where a background operation (provider cascade, key rotation) stands',
    admin: true,
    response: [{ status: '200', description: '{ id, name, status, progress?, result?, createdOn, changedOn }' }],
  },
  {
    method: 'post',
    path: '/operations/rotateKeys',
    operationId: 'rotateKeysNow',
    summary: 'Rewrap every data key to the current KEK version now (also daily)',
    admin: true,
    response: [{ status: '202', description: 'Started (or already running); Location is its status' }],
  },
  { method: 'get', path: '/openapi.json', operationId: 'openApi', summary: 'This document', response: [{ status: '200', description: 'OpenAPI 3.1' }] },
];

const OPTIONS = { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' } as const;
const COMPONENTS = '#/components/schemas/';

/** Named schemas (`.meta({ id })`) become components; everything else is inlined with $refs to them. */
function schemaOf(s: z.ZodType): object {
  const { $schema: _s, $defs: _d, ...rest } = z.toJSONSchema(s, OPTIONS) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as object;
}

function components(): Record<string, object> {
  const all = z.toJSONSchema(z.globalRegistry, { ...OPTIONS, uri: (id) => `${COMPONENTS}${id}` }).schemas;
  return Object.fromEntries(
    Object.entries(all).map(([id, schema]) => {
      const { $schema: _s, $id: _i, ...rest } = schema as Record<string, unknown>;
      return [id, rest];
    }),
  );
}

let cached: object | undefined;

export function openApiDocument(): object {
  if (cached) return cached;
  const errorResponse = { description: 'Error', content: { 'application/json': { schema: schemaOf(errorSchema) } } };
  const paths: Record<string, Record<string, object>> = {};
  for (const op of OPERATIONS) {
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: schemaOf(identifierSchema),
    }));
    if (op.paged) {
      params.push(
        { name: '$top', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
        { name: '$skipToken', in: 'query', required: false, schema: { type: 'string' } },
      );
    }
    for (const q of op.query ?? []) params.push({ name: q.name, in: 'query', required: false, schema: q.schema as never, description: q.description } as never);
    if (op.conditional) params.push({ name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } });
    const responses: Record<string, object> = {};
    for (const r of op.response ?? []) {
      responses[r.status] = {
        description: r.description,
        ...(r.headers ? { headers: r.headers } : {}),
        ...(r.schema ? { content: { 'application/json': { schema: schemaOf(r.schema) } } } : {}),
      };
    }
    responses.default = errorResponse;
    (paths[op.path] ??= {})[op.method] = {
      operationId: op.operationId,
      summary: op.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(op.request ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(op.request) } } } } : {}),
      responses,
      ...(op.admin || op.policy ? { security: [{ bearer: [] }] } : {}),
    };
  }
  cached = {
    openapi: '3.1.0',
    info: { title: 'credman', version: '1.0.0', description: 'Self-hosted credential manager for OAuth 2.0 backends.' },
    servers: [{ url: '/api' }],
    components: { schemas: components(), securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
    webhooks: deliveryDescription(),
  };
  return cached;
}
