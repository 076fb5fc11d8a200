// One base class; each subclass fixes a stable `code` and HTTP `status`. Callers switch on
// `code`, never on message text. `expose` says whether the message may reach a client
// (anything unexposed is rendered as a generic 500 by the HTTP wrapper).

export interface ErrorDetail {
  code: string;
  target?: string;
  message: string;
}

export class CredmanError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(code: string, status: number, message: string, options: { details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }

  get expose(): boolean {
    return this.status < 500 || this.status === 502 || this.status === 503;
  }
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
  constructor(message = 'A valid bearer token is required.') {
    super('Unauthenticated', 401, message, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}

export class ForbiddenError extends CredmanError {
  constructor(message = 'The caller is not allowed to do this.') {
    super('Forbidden', 403, message);
  }
}

export class NotFoundError extends CredmanError {
  constructor(code: 'ProviderNotFound' | 'ConnectionNotFound' | 'PolicyNotFound' | 'NotFound', message: string) {
    super(code, 404, message);
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

/** Decryption failures: tampered ciphertext, wrong row/field, unknown or wrong key version. */
export class DecryptionError extends CredmanError {
  constructor(reason: 'Tampered' | 'UnknownKeyVersion' | 'UnwrapFailed' | 'Malformed', cause?: unknown) {
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
