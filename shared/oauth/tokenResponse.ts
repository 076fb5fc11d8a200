import type { ProviderTemplate } from './template';

// Reads a token endpoint's answer (RFC 6749 §5.1 success, §5.2 error) in the shapes providers
// really use: JSON or form bodies, tokens nested under a key, errors in HTTP 200 bodies. Nothing
// returned ever holds the raw body or a token outside its own field: reasons are fixed sentences
// and error texts are cleaned and cut.

export interface TokenSet {
  accessToken: string;
  tokenType: string;
  expiresIn?: number;
  refreshToken?: string;
  refreshTokenExpiresIn?: number;
  idToken?: string;
  scope?: string;
  /** The response less `access_token`, `refresh_token` and `id_token` (also inside a nested token object). */
  claims: Record<string, unknown>;
}

/** An error is its code only: the provider's description is free text from outside, never passed on (docs/oauth.md). */
export type TokenResponse = { kind: 'token'; token: TokenSet } | { kind: 'error'; error: string } | { kind: 'malformed'; reason: string };

type Json = Record<string, unknown>;

const MAX_BODY = 1024 * 1024;
const SECRET_FIELDS = ['access_token', 'refresh_token', 'id_token'];
/** Lifetimes of the refresh token, by the names providers give them (RFC draft, Intuit, Keycloak). */
const REFRESH_LIFETIME_FIELDS = ['refresh_token_expires_in', 'x_refresh_token_expires_in', 'refresh_expires_in'];

const malformed = (reason: string): TokenResponse => ({ kind: 'malformed', reason });

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Provider text made safe to pass on: no control characters, no long token-like runs (a provider
 * echoing a code or token back), at most `max` characters.
 */
export function cleanText(text: string, max: number): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
      .replace(/[A-Za-z0-9._~+/=-]{40,}/g, '[…]')
      .trim()
      .slice(0, max)
  );
}

function parse(template: ProviderTemplate, contentType: string | undefined, body: string): Json | undefined {
  const ct = (contentType ?? '').toLowerCase();
  const format = /[/+]json\b/.test(ct) ? 'json' : ct.includes('x-www-form-urlencoded') ? 'form' : template.tokenResponse.format;
  if (format === 'form') {
    // Object.fromEntries defines own properties, so a `__proto__` key stays a plain key.
    return Object.fromEntries(new URLSearchParams(body.trim()));
  }
  try {
    const v: unknown = JSON.parse(body);
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function at(obj: Json, path: string): Json | undefined {
  let cur: unknown = obj;
  for (const key of path.split('.')) cur = isObject(cur) ? cur[key] : undefined;
  return isObject(cur) ? cur : undefined;
}

/** Seconds as a non-negative number or numeric string; `null` when present but not that. */
function seconds(v: unknown): number | undefined | null {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function without(obj: Json, keys: string[]): Json {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k)));
}

function claimsOf(root: Json, tokenPath: string | undefined): Json {
  const claims = without(root, SECRET_FIELDS);
  if (!tokenPath) return claims;
  const [head, ...rest] = tokenPath.split('.');
  const child = claims[head];
  if (!isObject(child)) return claims;
  return Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, k === head ? claimsOf(child, rest.length ? rest.join('.') : undefined) : v]));
}

function errorOf(template: ProviderTemplate, obj: Json, hasToken: boolean): { error: string } | undefined {
  const shape = template.tokenResponse;
  let code: unknown;
  if (shape.okFlag && obj.ok === false) code = obj.error ?? 'unknown_error';
  else if (obj.error !== undefined && obj.error !== null && obj.error !== '' && obj.error !== false) code = obj.error;
  else if (!hasToken && shape.errorField && obj[shape.errorField] !== undefined) code = obj[shape.errorField];
  if (code === undefined) return undefined;
  // Some providers nest the error: { error: { code | type, message } }.
  const nested = isObject(code) ? code : undefined;
  const raw = nested ? (str(nested.code) ?? str(nested.type) ?? 'unknown_error') : typeof code === 'string' ? code : JSON.stringify(code);
  const error = cleanText(raw, 100) || 'unknown_error';
  return { error: shape.errorCodes?.[error] ?? error };
}

export function readTokenResponse(template: ProviderTemplate, res: { status: number; contentType?: string; body: string }): TokenResponse {
  const ok = res.status >= 200 && res.status < 300;
  if (res.body.length > MAX_BODY) return malformed('The token response is too large.');
  const root = parse(template, res.contentType, res.body);
  if (!root) {
    return malformed(ok ? 'The token response is not a JSON object.' : `The identity provider answered HTTP ${res.status} without a readable body.`);
  }

  const shape = template.tokenResponse;
  const nested = shape.tokenPath ? at(root, shape.tokenPath) : undefined;
  // Slack nests user tokens on the code exchange but answers refreshes at the top level.
  const token = nested ?? root;
  const accessToken = str(token.access_token);

  const failure = errorOf(template, root, accessToken !== undefined);
  if (failure) return { kind: 'error', ...failure };
  if (!ok) return malformed(`The identity provider answered HTTP ${res.status} without an OAuth error.`);
  if (!accessToken) return malformed('The token response has no access token.');

  const expiresIn = seconds(token.expires_in);
  if (expiresIn === null) return malformed('The token response has an expires_in that is not a number of seconds.');
  let refreshTokenExpiresIn: number | undefined;
  for (const field of REFRESH_LIFETIME_FIELDS) {
    const v = seconds(token[field]);
    if (v === null) return malformed(`The token response has a ${field} that is not a number of seconds.`);
    // Keycloak answers 0 for offline tokens, meaning no fixed end.
    if (v) {
      refreshTokenExpiresIn = v;
      break;
    }
  }

  const type = str(token.token_type);
  const tokenType = shape.tokenType ?? (type === undefined || type.toLowerCase() === 'bearer' ? 'Bearer' : type);
  const scope = Array.isArray(token.scope) ? token.scope.filter((s) => typeof s === 'string').join(' ') : str(token.scope);
  const refreshToken = str(token.refresh_token);
  const idToken = str(token.id_token);
  const lifetime = expiresIn ?? shape.defaultExpiresInSeconds;

  return {
    kind: 'token',
    token: {
      accessToken,
      tokenType,
      ...(lifetime === undefined ? {} : { expiresIn: lifetime }),
      ...(refreshToken ? { refreshToken } : {}),
      ...(refreshTokenExpiresIn === undefined ? {} : { refreshTokenExpiresIn }),
      ...(idToken ? { idToken } : {}),
      ...(scope ? { scope } : {}),
      claims: claimsOf(root, nested ? shape.tokenPath : undefined),
    },
  };
}
