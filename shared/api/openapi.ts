import { z } from 'zod';
import { identifierSchema } from '../model/identifiers';
import { errorSchema } from '../model/schemas';
import { webhookDeliverySchema } from '../model/webhookSchemas';
import { pathParameters, ROUTES, takesBearer, type RouteSpec } from './routes';

// OpenAPI 3.1, built from the route table (shared/api/routes.ts) and the zod schemas that validate
// requests: JSON Schema 2020-12 is OpenAPI 3.1's dialect, so zod's own converter produces the
// component schemas.

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

const OPTIONS = { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' } as const;
const COMPONENTS = '#/components/schemas/';

/** Named schemas (`.meta({ id })`) become components; everything else is inlined with $refs to them. */
function schemaOf(s: z.ZodType): object {
  const { $schema: _s, $defs: _d, ...rest } = z.toJSONSchema(s, OPTIONS) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(rest).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as object;
}

/** The methods an any-method route is published with. */
export const ANY_METHOD = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** `proxy` + GET → `proxyGet`. */
export const anyMethodOperationId = (name: string, method: string): string => `${name}${method[0]}${method.slice(1).toLowerCase()}`;

function operation(operationId: string, spec: RouteSpec, errorResponse: object): object {
  const params: object[] = pathParameters(spec.route).map((name) => ({ name, in: 'path', required: true, schema: schemaOf(spec.params?.[name] ?? identifierSchema) }));
  const rest = /\{\*(\w+)\}/.exec(spec.route)?.[1];
  if (rest) params.push({ name: rest, in: 'path', required: true, schema: { type: 'string' }, description: 'The rest of the path; it may hold slashes.' });
  if (spec.paged) {
    params.push(
      { name: '$top', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
      { name: '$skipToken', in: 'query', required: false, schema: { type: 'string' } },
    );
  }
  for (const q of spec.query ?? []) params.push({ name: q.name, in: 'query', required: false, schema: q.schema, description: q.description });
  if (spec.conditional) params.push({ name: 'If-Match', in: 'header', required: false, schema: { type: 'string' } });
  if (spec.conditional && spec.method === 'PUT')
    params.push({ name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string', enum: ['*'] }, description: 'Create only: 412 when it exists.' });
  const responses: Record<string, object> = {};
  for (const r of spec.responses) {
    responses[r.status] = {
      description: r.description,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.schema ? { content: { 'application/json': { schema: schemaOf(r.schema) } } } : {}),
    };
  }
  responses.default = errorResponse;
  return {
    operationId,
    summary: spec.summary,
    ...(params.length ? { parameters: params } : {}),
    ...(spec.body ? { requestBody: { required: !spec.bodyOptional, content: { 'application/json': { schema: schemaOf(spec.body) } } } } : {}),
    responses,
    ...(takesBearer(spec.auth) ? { security: [{ bearer: [] }] } : {}),
  };
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
  for (const [operationId, spec] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    if (spec.unpublished) continue;
    // Any method: one operation per method OpenAPI clients use, the catch-all a path parameter that may hold slashes.
    const path = `/${spec.route.replace('{*', '{')}`;
    for (const method of spec.method === '*' ? ANY_METHOD : [spec.method]) {
      (paths[path] ??= {})[method.toLowerCase()] = operation(spec.method === '*' ? anyMethodOperationId(operationId, method) : operationId, spec, errorResponse);
    }
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
