import { parseErrorBody } from '../../client/src/contract';
import type { AccessPolicyResource, ConnectionResource, ConnectionStatus, MyProviderResource, ProviderResource } from '../../shared/model/schemas';

// Calls to the credman API with the signed-in person's access token. Every failure becomes an
// ApiError carrying the API's own code and message (docs/api.md's error shape, read by the SDK's
// parseErrorBody, which test/client/contract.test.ts holds to the server's schemas), never a stack.
// Resource types are the server's own (type-only imports: nothing of zod reaches the bundle).

export type { AccessPolicyResource, ConnectionResource, ConnectionStatus, MyProviderResource, ProviderResource };
export type Provider = ProviderResource;
export type Connection = ConnectionResource;

/** One problem of a failed request, `target` naming the field (`properties.displayName`…) when it is one. */
export interface ApiErrorDetail {
  code: string;
  target?: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ApiErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Answer<T> {
  status: number;
  body: T;
  etag?: string;
}

export interface RequestOptions {
  body?: unknown;
  /** The ETag the change is conditional on (If-Match). */
  ifMatch?: string;
  /** Create only (If-None-Match: *): the API answers 412 PreconditionFailed when it exists. */
  createOnly?: boolean;
}

/** A create-only write's refusal: something has that id already. */
export const alreadyExists = (err: unknown): boolean => err instanceof ApiError && err.status === 412;

/** One call to `/api/<path>` (or a same-origin URL the API handed out, such as a nextLink). */
export async function request<T>(token: string, method: string, path: string, options: RequestOptions = {}): Promise<Answer<T>> {
  const url = path.startsWith('/') ? path : `/api/${path}`;
  const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.ifMatch) headers['If-Match'] = options.ifMatch;
  if (options.createOnly) headers['If-None-Match'] = '*';
  let response: Response;
  try {
    response = await fetch(url, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  } catch {
    throw new ApiError(0, 'NetworkError', 'The credman API could not be reached.');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = parseErrorBody(body)?.error;
    if (error) throw new ApiError(response.status, error.code, error.message, error.details);
    throw new ApiError(response.status, `HTTP${response.status}`, `The API answered ${response.status} ${response.statusText}.`);
  }
  const etag = response.headers.get('ETag') ?? undefined;
  return { status: response.status, body: body as T, ...(etag ? { etag } : {}) };
}

/** The body of a GET. */
export const get = async <T>(token: string, path: string): Promise<T> => (await request<T>(token, 'GET', path)).body;

interface Page<T> {
  value: T[];
  nextLink?: string;
}

/** Every item of a collection, following nextLink (same origin only). */
export async function all<T>(token: string, path: string): Promise<T[]> {
  const items: T[] = [];
  let url: string | undefined = `/api/${path}`;
  for (let pages = 0; url && pages < 100; pages++) {
    const page: Page<T> = await get<Page<T>>(token, url);
    items.push(...page.value);
    url = page.nextLink && new URL(page.nextLink).origin === location.origin ? page.nextLink : undefined;
  }
  return items;
}

/** A path segment: identifiers are already safe, but nothing the person typed reaches a URL unencoded. */
export const seg = (id: string): string => encodeURIComponent(id);

export const listProviders = (token: string) => all<Provider>(token, 'providers');
export const listConnections = (token: string, providerId: string) => all<Connection>(token, `providers/${seg(providerId)}/connections`);
