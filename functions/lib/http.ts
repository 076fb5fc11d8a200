import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { z } from 'zod';
import { PAGE_HEADERS, renderPage } from '../../shared/consent/pages';
import { CredmanError, InvalidJsonError, InvalidQueryError, isExposed, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError, type ErrorCode, type ErrorDetail } from '../../shared/errors';
import { topSchema, type ErrorBody } from '../../shared/model/schemas';
import type { Page } from '../../shared/store/paging';

// The HTTP edge: parse and validate input, render output and errors in the API's shape (docs/api.md).

const MAX_BODY_BYTES = 64 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

export type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/** How an error answer is written: the API's JSON shape, or an HTML page for the browser routes (consent). */
export type ErrorFormat = 'json' | 'html';

/** Wraps a handler: every thrown error becomes the API's error shape; unknown ones a bare 500. */
export function handle(fn: Handler, format: ErrorFormat = 'json'): Handler {
  return async (request, context) => {
    try {
      return hardened(await fn(request, context));
    } catch (err) {
      return hardened(renderError(err, context, format));
    }
  };
}

/** Headers every answer of the app carries: no browser guesses a content type (a JSON error rendered as HTML). */
function hardened(response: HttpResponseInit): HttpResponseInit {
  const headers = Object.entries((response.headers as Record<string, string> | undefined) ?? {}).filter(([k]) => k.toLowerCase() !== 'x-content-type-options');
  return { ...response, headers: { ...Object.fromEntries(headers), 'X-Content-Type-Options': 'nosniff' } };
}

/**
 * The one rendering of an error answer: the same status, code, message, headers and logging in
 * either format; only the body differs (the JSON error shape, or the consent pages' failure page).
 */
export function renderError(err: unknown, context: InvocationContext, format: ErrorFormat = 'json'): HttpResponseInit {
  const e = answerOf(err, context);
  if (format === 'html') {
    return { status: e.status, headers: { ...PAGE_HEADERS, ...e.headers }, body: renderPage({ name: 'failed', status: e.status, code: e.code, message: e.message }) };
  }
  return {
    status: e.status,
    headers: { 'Content-Type': JSON_TYPE, ...e.headers },
    jsonBody: { error: { code: e.code, message: e.message, details: e.details } } satisfies ErrorBody,
  };
}

interface ErrorAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  details: ErrorDetail[];
  headers: Record<string, string>;
}

function answerOf(err: unknown, context: InvocationContext): ErrorAnswer {
  if (isExposed(err)) {
    if (err.status >= 500) context.warn(`${err.code}: ${err.message}`);
    return { status: err.status, code: err.code, message: err.message, details: err.details, headers: err.headers };
  }
  // Never echo internals: log the type and code with the invocation id, answer generically.
  const name = err instanceof Error ? err.name : typeof err;
  const raw = err instanceof CredmanError ? err.code : (err as { code?: unknown })?.code;
  const code = typeof raw === 'string' || typeof raw === 'number' ? raw : ''; // a primitive code only, never an object dump
  context.error(`Unhandled ${name}${code ? ` (${code})` : ''} in invocation ${context.invocationId}`);
  return { status: 500, code: 'InternalError', message: `The server failed to handle the request (invocation ${context.invocationId}).`, details: [], headers: {} };
}

export function json(status: number, body: unknown, etag?: string): HttpResponseInit {
  return { status, headers: { 'Content-Type': JSON_TYPE, ...(etag ? { ETag: etag } : {}) }, jsonBody: body };
}

/**
 * Reads a JSON body: 415 for another media type, 413 over 64 KiB, 400 for bad JSON or schema.
 * `optional`: a request with no Content-Type and no bytes at all stands for `{}` (validated as any body).
 */
export async function readJson<T extends z.ZodType>(request: HttpRequest, schema: T, options: { optional?: boolean } = {}): Promise<z.infer<T>> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && !(options.optional && type === '')) throw new UnsupportedMediaTypeError();
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  const bytes = await readCapped(request, MAX_BODY_BYTES);
  if (bytes === undefined) throw new PayloadTooLargeError(MAX_BODY_BYTES);
  if (type === '') {
    // Decided on the bytes read, not the headers: a chunked body without a type is refused, not dropped.
    if (bytes.length > 0) throw new UnsupportedMediaTypeError();
    return validated(schema, {});
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new InvalidJsonError();
  }
  return validated(schema, value);
}

/**
 * The body, read from its stream (bodies stream through the worker); past `max` bytes nothing more is
 * kept (undefined then), so a chunked body without a length is never held whole. The rest is still
 * read, and dropped: the host sends a request's whole body to the worker before it reads the answer
 * (docs/local-host.md, "HTTP streaming"), so a body given up half-read would stall that connection
 * and never let the refusal through. The host's 100 MiB limit bounds what is read.
 */
export async function readCapped(request: HttpRequest, max: number): Promise<Buffer | undefined> {
  if (!request.body) return Buffer.alloc(0);
  // One buffer of the cap, copied into: many tiny chunks kept apart would cost far more than the cap.
  const kept = Buffer.allocUnsafe(max);
  let size = 0;
  for await (const value of request.body as unknown as AsyncIterable<Uint8Array>) {
    if (size + value.length <= max) kept.set(value, size);
    size += value.length;
  }
  return size > max ? undefined : kept.subarray(0, size);
}

function validated<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError(
      'The request body is not valid.',
      parsed.error.issues.map((i) => ({
        code: i.code === 'unrecognized_keys' ? 'UnknownField' : 'InvalidValue',
        target: [...i.path, ...(i.code === 'unrecognized_keys' ? [i.keys.join(',')] : [])].map(String).join('.') || 'body',
        message: i.message,
      })),
    );
  }
  return parsed.data;
}

/**
 * A query parameter by its exact name. Handlers see the URL's query as sent (bodies stream, and the
 * library then reads the query from the URL: names case-sensitive, repeats kept); a repeated one
 * is refused rather than one of its values picked.
 */
export function queryValue(request: HttpRequest, name: string): string | undefined {
  const all = request.query.getAll(name);
  if (all.length > 1) throw new InvalidQueryError(name, `${name} must be given at most once.`);
  return all[0];
}

export function paging(request: HttpRequest): { top: number; skipToken?: string } {
  const rawTop = queryValue(request, '$top');
  const top = topSchema.safeParse(rawTop);
  if (!top.success) throw new InvalidQueryError('$top', '$top must be an integer from 1 to 100.');
  const skipToken = queryValue(request, '$skipToken');
  return { top: top.data, ...(skipToken === undefined ? {} : { skipToken }) };
}

/** A collection page; nextLink repeats the request URL with the next $skipToken. */
export function collection<T>(request: HttpRequest, page: Page<T>, top: number): HttpResponseInit {
  const body: { value: T[]; nextLink?: string } = { value: page.items };
  if (page.skipToken) {
    const next = new URL(request.url);
    next.searchParams.set('$top', String(top));
    next.searchParams.set('$skipToken', page.skipToken);
    body.nextLink = next.toString();
  }
  return json(200, body);
}
