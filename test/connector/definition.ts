import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv, { type ValidateFunction } from 'ajv';

// The Logic Apps connector definition (connector/apiDefinition.swagger.json) as the tests use it:
// loaded and dereferenced by swagger-parser, requests built from its operations the way the Logic
// Apps designer fills them in, and responses checked with ajv against its schemas — closed
// (additionalProperties: false wherever the definition leaves it open), so that a field the API
// adds or renames shows up here before a workflow meets it.

const ROOT = join(__dirname, '..', '..');
export const DEFINITION_FILE = join(ROOT, 'connector', 'apiDefinition.swagger.json');
export const PROPERTIES_FILE = join(ROOT, 'connector', 'apiProperties.json');

export type Schema = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  default?: unknown;
  'x-ms-notification-url'?: boolean;
};

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'body';
  required?: boolean;
  type?: string;
  schema?: Schema;
  'x-ms-dynamic-values'?: { operationId: string; parameters?: Record<string, { parameter: string }>; 'value-collection'?: string; 'value-path': string; 'value-title'?: string };
  [key: string]: unknown;
}

export interface ResponseSpec {
  description: string;
  schema?: Schema;
  headers?: Record<string, { type: string }>;
}

export interface Operation {
  operationId: string;
  method: string;
  path: string;
  summary?: string;
  parameters: Parameter[];
  responses: Record<string, ResponseSpec>;
  raw: Record<string, unknown>;
}

export interface Definition {
  basePath: string;
  operations: Operation[];
  op(operationId: string): Operation;
}

export const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The raw definition, as the connector imports it. */
export const rawDefinition = () => readJson<Record<string, unknown> & { paths: Record<string, Record<string, Record<string, unknown>>> }>(DEFINITION_FILE);

/** swagger-parser's `validate` or `dereference` of a file, run in a child process (it is ESM underneath). */
export async function swaggerParser(verb: 'validate' | 'dereference', file = DEFINITION_FILE): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, 'swaggerParser.mjs'), verb, file], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const answer = JSON.parse(stdout) as { ok: boolean; api?: Record<string, unknown>; error?: string };
  if (!answer.ok || !answer.api) throw new Error(`swagger-parser ${verb} ${file}: ${answer.error}`);
  return answer.api;
}

/** The definition with every $ref resolved. */
export async function loadDefinition(): Promise<Definition> {
  const doc = (await swaggerParser('dereference')) as unknown as { basePath: string; paths: Record<string, Record<string, Record<string, unknown>>> };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      operations.push({
        operationId: raw.operationId as string,
        method: method.toUpperCase(),
        path,
        summary: raw.summary as string | undefined,
        parameters: (raw.parameters as Parameter[] | undefined) ?? [],
        responses: raw.responses as Record<string, ResponseSpec>,
        raw,
      });
    }
  }
  return {
    basePath: doc.basePath,
    operations,
    op(operationId) {
      const found = operations.find((o) => o.operationId === operationId);
      if (!found) throw new Error(`the definition has no operation ${operationId}`);
      return found;
    },
  };
}

// ---- schemas ----

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('date-time', (s: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)));
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('uri', (s: string) => URL.canParse(s));

/** A copy in which every object that does not say otherwise allows no other properties. */
export function closed(schema: Schema): Schema {
  const out: Schema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, closed(v)]));
    if (schema.additionalProperties === undefined) out.additionalProperties = false;
  }
  if (schema.items) out.items = closed(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.additionalProperties = closed(schema.additionalProperties);
  return out;
}

const compiled = new WeakMap<object, ValidateFunction>();

/** Validates a value against a definition schema (closed); returns ajv's errors as text, or undefined. */
export function schemaErrors(schema: Schema, value: unknown): string | undefined {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(closed(schema));
    compiled.set(schema, validate);
  }
  return validate(value) ? undefined : ajv.errorsText(validate.errors, { separator: '\n' });
}

/** A non-body parameter's own constraints as a schema. */
function parameterSchema(p: Parameter): Schema {
  const keys = ['type', 'format', 'pattern', 'minimum', 'maximum', 'enum', 'minLength', 'maxLength'];
  return Object.fromEntries(keys.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
}

// ---- requests ----

export type Inputs = Record<string, string | number | boolean>;

export interface BuiltRequest {
  method: string;
  /** Relative to the host: basePath + path + query. */
  url: string;
  body?: unknown;
}

/**
 * Builds a request as Logic Apps does from the definition: path parameters substituted (encoded
 * once, x-ms-url-encoding single), declared query parameters only, and the body made from its
 * schema: a field named in `inputs` takes that value, the field marked x-ms-notification-url the
 * trigger's callback URL, any other its default. An input the operation does not declare, a
 * missing required one, or a value its schema refuses is an error: the test and the definition
 * disagree.
 */
export function buildRequest(def: Definition, op: Operation, inputs: Inputs = {}, ctx: { notificationUrl?: string } = {}): BuiltRequest {
  const unused = new Set(Object.keys(inputs));
  const take = (name: string) => {
    unused.delete(name);
    return inputs[name];
  };
  let path = op.path;
  const query = new URLSearchParams();
  let body: unknown;
  for (const p of op.parameters) {
    if (p.in === 'body') {
      body = fill(p.schema as Schema, take, ctx, p.name);
      const errors = schemaErrors(p.schema as Schema, body);
      if (errors) throw new Error(`${op.operationId}: the body built from the definition does not match its schema:\n${errors}`);
      continue;
    }
    const value = take(p.name);
    if (value === undefined) {
      if (p.required) throw new Error(`${op.operationId}: required ${p.in} parameter ${p.name} not given`);
      continue;
    }
    const errors = schemaErrors(parameterSchema(p), value);
    if (errors) throw new Error(`${op.operationId}: ${p.name}=${String(value)} is refused by the definition: ${errors}`);
    if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(String(value)));
    else if (p.in === 'query') query.set(p.name, String(value));
    else throw new Error(`${op.operationId}: ${p.in} parameters are not supported here`);
  }
  if (unused.size) throw new Error(`${op.operationId} declares no parameter or body field ${[...unused].join(', ')}`);
  if (/\{\w+\}/.test(path)) throw new Error(`${op.operationId}: unfilled path template ${path}`);
  const qs = query.toString();
  return { method: op.method, url: `${def.basePath}${path}${qs ? `?${qs}` : ''}`, ...(body === undefined ? {} : { body }) };
}

function fill(schema: Schema, take: (name: string) => unknown, ctx: { notificationUrl?: string }, at: string): unknown {
  if (schema['x-ms-notification-url']) {
    if (!ctx.notificationUrl) throw new Error(`${at} is the trigger's callback URL: give notificationUrl`);
    return ctx.notificationUrl;
  }
  if (schema.type === 'object' && schema.properties) {
    const out: Record<string, unknown> = {};
    for (const [name, sub] of Object.entries(schema.properties)) {
      const v = sub.type === 'object' && sub.properties ? fill(sub, take, ctx, `${at}.${name}`) : leaf(sub, name, take, ctx, `${at}.${name}`);
      if (v !== undefined) out[name] = v;
      else if (schema.required?.includes(name)) throw new Error(`${at}.${name} is required and has no value or default`);
    }
    return out;
  }
  return undefined;
}

function leaf(schema: Schema, name: string, take: (name: string) => unknown, ctx: { notificationUrl?: string }, at: string): unknown {
  if (schema['x-ms-notification-url']) return fill(schema, take, ctx, at);
  const given = take(name);
  return given !== undefined ? given : schema.default;
}

/** Which operation of the definition a URL (a Location, a nextLink) reaches, and with what parameters. */
export function matchUrl(def: Definition, method: string, url: string): { op: Operation; inputs: Inputs } | undefined {
  const u = new URL(url);
  if (!u.pathname.startsWith(`${def.basePath}/`)) return undefined;
  const rest = u.pathname.slice(def.basePath.length);
  for (const op of def.operations.filter((o) => o.method === method)) {
    const names: string[] = [];
    const pattern = new RegExp(`^${op.path.replace(/\{(\w+)\}/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    const m = pattern.exec(rest);
    if (!m) continue;
    const inputs: Inputs = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
    for (const [k, v] of u.searchParams) inputs[k] = v;
    const declared = new Map(op.parameters.map((p) => [p.name, p]));
    if (!Object.keys(inputs).every((k) => declared.has(k))) continue;
    // Typed as the definition declares them, as the designer would hold them.
    for (const [k, v] of Object.entries(inputs)) {
      const type = declared.get(k)?.type;
      if (type === 'integer' || type === 'number') inputs[k] = Number(v);
      else if (type === 'boolean') inputs[k] = v === 'true';
    }
    return { op, inputs };
  }
  return undefined;
}

// ---- responses ----

export interface CheckedResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- asserted field by field after schema validation
  body: any;
  text: string;
  /** The response key of the definition that described it ("200", "default"…). */
  describedBy: string;
}

/**
 * Checks a response against the operation's response for its status: a success must be declared
 * by its own status (not only by `default`), a declared schema must accept the body (closed), no
 * schema means no body, declared headers must be present. `{ notification: true }` for a trigger's
 * subscribe response, whose schema describes the event the trigger will receive, not this body.
 */
export function checkResponse(op: Operation, res: { status: number; headers: Headers; body: unknown; text: string }, opts: { notification?: boolean } = {}): CheckedResponse {
  const key = op.responses[String(res.status)] ? String(res.status) : 'default';
  const spec = op.responses[key];
  const where = `${op.operationId} answered ${res.status}`;
  if (!spec) throw new Error(`${where}, which the definition does not describe:\n${res.text}`);
  if (res.status < 400 && key === 'default') throw new Error(`${where}: a success the definition lists only under default`);
  for (const h of Object.keys(spec.headers ?? {})) if (!res.headers.get(h)) throw new Error(`${where} without the ${h} header the definition declares`);
  if (!opts.notification) {
    if (spec.schema) {
      const errors = schemaErrors(spec.schema, res.body);
      if (errors) throw new Error(`${where} with a body the definition's schema (${key}) refuses:\n${errors}\n${res.text}`);
    } else if (res.text !== '') {
      throw new Error(`${where} with a body, where the definition declares none:\n${res.text}`);
    }
  }
  return { ...res, body: res.body, describedBy: key };
}
