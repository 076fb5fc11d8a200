// The wire contract of credman's token endpoint as the server publishes it: the
// AuthorizationContext and Error schemas of shared/model/ (served in /openapi.json). A copy
// without dependencies, because the SDK is built from client/src alone; test/client/contract.test.ts
// holds it to the server's zod schemas (types and verdicts), so the two cannot drift apart.

/** A 200 of the token endpoint. `expiresOn` is absent when the identity provider gave no lifetime (GitHub OAuth apps). */
export interface TokenResponseBody {
  accessToken: string;
  tokenType: string;
  /** ISO 8601 date-time. */
  expiresOn?: string;
  scope?: string;
  /** The identity provider's token response less access, refresh and ID tokens. */
  claims: Record<string, unknown>;
}

export interface ErrorDetailBody {
  code: string;
  target?: string;
  message: string;
}

/** The API's error codes (`error.code`), as the server lists them in shared/errors.ts. */
export const ERROR_CODES = [
  // 400
  'ValidationError',
  'InvalidIdentifier',
  'InvalidJson',
  'UnsupportedGrantType',
  // 400 from the consent pages and redirect (BrowserMismatch also 403)
  'InvalidState',
  'LoginLinkUsed',
  'InvalidConsentCode',
  'BrowserMismatch',
  'IssuerMismatch',
  'InvalidRequest',
  'ConsentNotConfirmed',
  // 401, 403
  'Unauthenticated',
  'Forbidden',
  'SelfServiceDisabled',
  // 404
  'NotFound',
  'ProviderNotFound',
  'ConnectionNotFound',
  'PolicyNotFound',
  'WebhookNotFound',
  // 409
  'LimitExceeded',
  'RecordTampered',
  'ConnectionNotConnected',
  'ReauthorizationRequired',
  'ClientSecretInvalid',
  'ConsentDenied',
  'ProviderMisconfigured',
  'ConnectionIdTaken',
  'ProxyNotConfigured',
  // 412, 413, 415, 429
  'PreconditionFailed',
  'PayloadTooLarge',
  'UnsupportedMediaType',
  'TooManyRequests',
  // 500, 502, 503
  'InternalError',
  'InvalidConfiguration',
  'IdentityProviderError',
  'DependencyUnavailable',
  'UpstreamUnavailable',
  'UpstreamTimeout',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every error answer of the API. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetailBody[] };
}

/** An error body as the SDK reads it: a newer credman may answer a code this SDK does not list yet, so any code is kept as given. */
export interface ReadErrorBody {
  error: { code: ErrorCode | (string & {}); message: string; details: ErrorDetailBody[] };
}

// RFC 3339 date-time, as the server's z.iso.datetime({ offset: true }) checks it.
const DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

function isDateTime(v: unknown): boolean {
  const m = typeof v === 'string' ? DATE_TIME.exec(v) : null;
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return mo >= 1 && mo <= 12 && d >= 1 && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/** The body if it is a token response, else undefined. Unknown fields are dropped. */
export function parseTokenResponse(v: unknown): TokenResponseBody | undefined {
  if (!isRecord(v)) return undefined;
  const { accessToken, tokenType, expiresOn, scope, claims } = v;
  if (typeof accessToken !== 'string' || accessToken === '' || typeof tokenType !== 'string') return undefined;
  if (!optString(scope) || !isRecord(claims)) return undefined;
  if (expiresOn !== undefined && !isDateTime(expiresOn)) return undefined;
  return {
    accessToken,
    tokenType,
    ...(expiresOn === undefined ? {} : { expiresOn: expiresOn as string }),
    ...(scope === undefined ? {} : { scope: scope as string }),
    claims,
  };
}

/** The body if it is the API's error shape, else undefined. Details that are not the shape are dropped. */
export function parseErrorBody(v: unknown): ReadErrorBody | undefined {
  const e = isRecord(v) ? v.error : undefined;
  if (!isRecord(e) || typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
  const details = (Array.isArray(e.details) ? e.details : [])
    .filter((d): d is Record<string, unknown> => isRecord(d) && typeof d.code === 'string' && typeof d.message === 'string' && optString(d.target))
    .map((d) => ({ code: d.code as string, ...(typeof d.target === 'string' ? { target: d.target } : {}), message: d.message as string }));
  return { error: { code: e.code, message: e.message, details } };
}
