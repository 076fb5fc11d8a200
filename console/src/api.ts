import { parseErrorBody } from '../../client/src/contract';

// Calls to the credman API with the signed-in person's access token. Every failure becomes an
// ApiError carrying the API's own code and message (docs/api.md's error shape, read by the SDK's
// parseErrorBody, which test/client/contract.test.ts holds to the server's schemas), never a stack.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Provider {
  id: string;
  name: string;
  properties: { displayName?: string; identityProvider: string; createdOn: string; changedOn: string };
}

export type ConnectionStatus = 'Pending' | 'Connected' | 'Error';

export interface Connection {
  id: string;
  name: string;
  properties: {
    displayName?: string;
    oauth2grantType: 'AuthorizationCode' | 'ClientCredentials';
    status: ConnectionStatus;
    error?: { code: string; message: string };
    expiresOn?: string;
    changedOn: string;
  };
}

interface Page<T> {
  value: T[];
  nextLink?: string;
}

async function call<T>(token: string, url: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } });
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
    if (error) throw new ApiError(response.status, error.code, error.message);
    throw new ApiError(response.status, `HTTP${response.status}`, `The API answered ${response.status} ${response.statusText}.`);
  }
  return body as T;
}

/** Every item of a collection, following nextLink (same origin only). */
async function all<T>(token: string, path: string): Promise<T[]> {
  const items: T[] = [];
  let url: string | undefined = `/api/${path}`;
  for (let pages = 0; url && pages < 100; pages++) {
    const page: Page<T> = await call<Page<T>>(token, url);
    items.push(...page.value);
    url = page.nextLink && new URL(page.nextLink).origin === location.origin ? page.nextLink : undefined;
  }
  return items;
}

export const listProviders = (token: string) => all<Provider>(token, 'providers');
export const listConnections = (token: string, providerId: string) => all<Connection>(token, `providers/${encodeURIComponent(providerId)}/connections`);
