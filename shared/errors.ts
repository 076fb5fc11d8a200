// One base class; each subclass fixes a stable `code` and HTTP `status`. Callers switch on
// `code`, never on message text. `expose` says whether the message may reach a client
// (anything unexposed is rendered as a generic 500 by the HTTP wrapper).

/**
 * Every `error.code` an answer of the API can carry (JSON error bodies, the consent pages and the
 * consent redirect's `code`). The one list: the type below, the published Error schema
 * (shared/model/schemas.ts, hence /openapi.json) and the SDK's copy (client/src/contract.ts) derive
 * from it or are held to it by tests.
 */
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

/** Codes of errors that are never answered (500s the HTTP wrapper renders as InternalError); they reach logs only. */
export type InternalErrorCode = `Decryption${DecryptionReason}`;

const isErrorCode = (code: string): code is ErrorCode => (ERROR_CODES as readonly string[]).includes(code);

/** The codes of `details[]`: which field or part failed, and how. */
export type DetailCode =
  | 'InvalidIdentifier'
  | 'InvalidValue'
  | 'UnknownField'
  | 'UnknownParameter'
  | 'MissingParameter'
  | 'MissingGrantType'
  | 'UnsupportedGrantType'
  | 'UnknownIdentityProvider'
  | 'UntrustedIssuer'
  | 'RedirectNotAllowed'
  | 'InvalidConsentCode'
  | 'DynamicRegistrationFailed'
  | 'InvalidSetting'
  | DestinationProblem
  | TamperReason;

/** Why a URL or address is not one credman may send to (shared/net/destination.ts). */
export type DestinationProblem = 'InvalidUrl' | 'SchemeNotAllowed' | 'CredentialsInUrl' | 'DestinationNotAllowed';

export interface ErrorDetail {
  code: DetailCode;
  target?: string;
  message: string;
}

export class CredmanError extends Error {
  readonly code: ErrorCode | InternalErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode | InternalErrorCode, status: number, message: string, options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }

  get expose(): boolean {
    return this.status < 500 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** Whether the error's code and message may be answered (else a generic InternalError). */
export function isExposed(err: unknown): err is CredmanError & { code: ErrorCode } {
  return err instanceof CredmanError && err.expose && isErrorCode(err.code);
}

export class ValidationError extends CredmanError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('ValidationError', 400, message, { details });
  }
}

export class InvalidIdentifierError extends CredmanError {
  constructor(target: string) {
    super('InvalidIdentifier', 400, `The ${target} is not a valid identifier.`, {
      details: [{ code: 'InvalidIdentifier', target, message: 'Use 1-80 characters: letters, digits, ".", "_" or "-", starting and ending with a letter or digit.' }],
    });
  }
}

export class InvalidJsonError extends CredmanError {
  constructor() {
    super('InvalidJson', 400, 'The request body is not valid JSON.');
  }
}

export class InvalidQueryError extends CredmanError {
  constructor(target: string, message: string) {
    super('ValidationError', 400, message, { details: [{ code: 'InvalidValue', target, message }] });
  }
}

export class UnauthenticatedError extends CredmanError {
  /** `resourceMetadata`: the URL of the resource's RFC 9728 metadata, named in the challenge (§5.1). */
  constructor(message = 'A valid bearer token is required.', resourceMetadata?: string) {
    super('Unauthenticated', 401, message, { headers: { 'WWW-Authenticate': resourceMetadata ? `Bearer resource_metadata="${resourceMetadata}"` : 'Bearer' } });
  }
}

export class ForbiddenError extends CredmanError {
  constructor(message = 'The caller is not allowed to do this.') {
    super('Forbidden', 403, message);
  }
}

/** A person asked for a connection under a provider that does not offer self-service (or does not exist: the same answer). */
export class SelfServiceDisabledError extends CredmanError {
  constructor(providerId: string) {
    super('SelfServiceDisabled', 403, `Provider '${providerId}' does not offer self-service connections: ask an administrator.`);
  }
}

/** The id derived from a person's identity holds a connection an administrator made for someone else (or no one). */
export class ConnectionIdTakenError extends CredmanError {
  constructor(connectionId: string) {
    super('ConnectionIdTaken', 409, `Connection '${connectionId}' exists and was not created by you through self-service: ask an administrator.`);
  }
}

export class NotFoundError extends CredmanError {
  constructor(code: 'ProviderNotFound' | 'ConnectionNotFound' | 'PolicyNotFound' | 'WebhookNotFound' | 'NotFound', message: string) {
    super(code, 404, message);
  }
}

export class ProviderNotFoundError extends NotFoundError {
  constructor(providerId: string) {
    super('ProviderNotFound', `Credential provider '${providerId}' does not exist.`);
  }
}

export class ConnectionNotFoundError extends NotFoundError {
  /** `recreated`: the write was meant for an earlier connection of this id, deleted (and maybe created again) since. */
  constructor(providerId: string, connectionId: string, opts: { recreated?: boolean } = {}) {
    const where = `Connection '${connectionId}' does not exist under provider '${providerId}'`;
    super('ConnectionNotFound', opts.recreated ? `${where} (or was deleted and created again since); nothing was changed.` : `${where}.`);
  }
}

export class AccessPolicyNotFoundError extends NotFoundError {
  constructor(connectionId: string, policyId: string) {
    super('PolicyNotFound', `Access policy '${policyId}' does not exist on connection '${connectionId}'.`);
  }
}

export class WebhookNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('WebhookNotFound', `Webhook subscription '${id}' does not exist.`);
  }
}

export class OperationNotFoundError extends NotFoundError {
  constructor(id: string) {
    super('NotFound', `Operation '${id}' does not exist.`);
  }
}

/** A path or method the API does not have (the catch-all route). */
export class RouteNotFoundError extends NotFoundError {
  constructor() {
    super('NotFound', 'No such route or method.');
  }
}

export class UnsupportedGrantTypeError extends CredmanError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('UnsupportedGrantType', 400, message, { details });
  }
}

export class LimitExceededError extends CredmanError {
  constructor(message: string) {
    super('LimitExceeded', 409, message);
  }
}

export class PreconditionFailedError extends CredmanError {
  constructor(message = 'The resource does not match the If-Match header.') {
    super('PreconditionFailed', 412, message);
  }
}

export class PayloadTooLargeError extends CredmanError {
  constructor(limit: number) {
    super('PayloadTooLarge', 413, `The request body exceeds ${limit} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends CredmanError {
  constructor() {
    super('UnsupportedMediaType', 415, 'The request body must be application/json.');
  }
}

/** The app settings are invalid: every request answers this, naming the settings (never their values), until they are fixed. */
export class ConfigurationError extends CredmanError {
  constructor(settings: string[], cause?: unknown) {
    super('InvalidConfiguration', 500, `credman's app settings are invalid: ${settings.join(', ')}. The app's log says what is wrong with each.`, {
      details: settings.map((target) => ({ code: 'InvalidSetting', target, message: 'Missing or malformed.' })),
      cause,
    });
  }

  // A 500 that says what to fix: the names are no secret, and an operator needs them.
  override get expose(): boolean {
    return true;
  }
}

export class DependencyUnavailableError extends CredmanError {
  constructor(dependency: string, cause?: unknown) {
    super('DependencyUnavailable', 503, `${dependency} is unavailable; try again shortly.`, {
      headers: { 'Retry-After': '5' },
      cause,
    });
  }
}

export type DecryptionReason = 'Tampered' | 'UnknownKeyVersion' | 'UnwrapFailed' | 'Malformed';

/** Decryption failures: tampered ciphertext, wrong row/field, unknown or wrong key version. */
export class DecryptionError extends CredmanError {
  constructor(reason: DecryptionReason, cause?: unknown) {
    super(`Decryption${reason}`, 500, `A stored secret could not be decrypted (${reason}).`, { cause });
  }
}

/** Why a stored record was refused: see docs/storage.md, "Tamper detection". */
export type TamperReason = 'Tampered' | 'Malformed' | 'UnwrapFailed' | 'UnknownKeyVersion' | 'MacMismatch' | 'Unprotected' | 'Rollback' | 'IntegrityKeyMissing';

/**
 * A stored row failed its integrity check (changed, inserted or rolled back by someone writing the
 * table directly) and was not used. 409 like the other states that need an administrator rather
 * than a retry: writing the record again through the management API replaces it. The message and
 * details name the kind of record and the reason, never its content.
 */
export class TamperedRecordError extends CredmanError {
  constructor(
    readonly record: string,
    readonly reason: TamperReason,
    cause?: unknown,
  ) {
    super('RecordTampered', 409, `A stored ${record} record failed its integrity check (${reason}) and was not used; write it again through the management API.`, {
      details: [{ code: reason, target: record, message: 'The row was changed outside credman, or restored from an older copy.' }],
      cause,
    });
  }
}

/** The connection has no usable token and needs something other than a retry (409). */
export type ConnectionErrorCode = 'ConnectionNotConnected' | 'ReauthorizationRequired' | 'ClientSecretInvalid' | 'ConsentDenied' | 'ProviderMisconfigured';

export class ConnectionStateError extends CredmanError {
  constructor(code: ConnectionErrorCode, message: string) {
    super(code, 409, message);
  }
}

/** The identity provider failed or answered something unusable; its message passed on without secrets. */
export class IdentityProviderError extends CredmanError {
  constructor(message: string) {
    super('IdentityProviderError', 502, message);
  }
}

export class TooManyRequestsError extends CredmanError {
  constructor(message: string, retryAfterSeconds: number) {
    super('TooManyRequests', 429, message, { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
  }
}

// The consent pages' errors (GET /consent/start, /consent/callback, POST /consent/confirm): the
// person in the browser reads these, so they say what to do, and name no ids.

export class InvalidStateError extends CredmanError {
  constructor() {
    super('InvalidState', 400, 'This sign-in link is not valid: it was already used, it expired (after 10 minutes) or it was never issued. Ask for a new link.');
  }
}

export class LoginLinkUsedError extends CredmanError {
  constructor() {
    super(
      'LoginLinkUsed',
      400,
      'This sign-in link was already opened, in this or another browser, and works only once. If you did not open it before, someone else did: do not sign in, and ask for a new link.',
    );
  }
}

export class InvalidConsentCodeError extends CredmanError {
  constructor() {
    super('InvalidConsentCode', 400, 'This confirmation is not valid: it was already used or it expired.');
  }
}

/** The confirmation came from another browser than the one that signed in. */
export class BrowserMismatchError extends CredmanError {
  constructor() {
    super('BrowserMismatch', 403, 'This connection can only be confirmed in the browser that signed in. Nothing was changed.');
  }
}

/** The provider of a sign-in under way was deleted. */
export class SignInProviderGoneError extends NotFoundError {
  constructor() {
    super('ProviderNotFound', 'The credential provider of this sign-in no longer exists.');
  }
}

// The token proxy's errors (shared/proxy): before the upstream answered. Once it has, its own status passes through.

/** The provider has no API base URL (none set, none in its template): the proxy has nowhere to send. */
export class ProxyNotConfiguredError extends CredmanError {
  constructor(providerId: string) {
    super('ProxyNotConfigured', 409, `Provider '${providerId}' has no API base URL: an administrator sets properties.apiBaseUrl.`);
  }
}

/** The upstream API could not be reached (refused, reset, DNS, TLS) or its destination is not allowed. */
export class UpstreamUnavailableError extends CredmanError {
  constructor(message: string, cause?: unknown) {
    super('UpstreamUnavailable', 502, message, { cause });
  }
}

/** The upstream API did not answer within the proxy's time limit. */
export class UpstreamTimeoutError extends CredmanError {
  constructor(seconds: number) {
    super('UpstreamTimeout', 504, `The upstream API did not answer within ${seconds} seconds.`);
  }
}
