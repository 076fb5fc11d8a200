// One base class; callers switch on `code` (the API's stable error code, or one of the SDK's own
// below), never on message text. Messages never contain a caller token or an access token.

export interface CredmanErrorDetail {
  code: string;
  target?: string;
  message: string;
}

export interface CredmanErrorOptions {
  /** The HTTP status credman answered with; 0 when no answer arrived. */
  status?: number;
  details?: CredmanErrorDetail[];
  /** Seconds the server asked to wait (`Retry-After`), when it said. */
  retryAfter?: number;
  cause?: unknown;
}

/** Codes the SDK itself gives (the others come from credman's error body). */
export const SdkErrorCode = {
  /** credman's answer was not the API's shape (an HTML gateway page, a 3xx, unreadable JSON). */
  UnexpectedResponse: 'UnexpectedResponse',
  /** credman could not be reached (connection refused, reset, DNS). */
  NetworkError: 'NetworkError',
  /** One attempt took longer than `timeoutMs`. */
  Timeout: 'Timeout',
  /** The caller's own token (credential or platform token) could not be obtained. */
  CallerTokenUnavailable: 'CallerTokenUnavailable',
  /** A provider or connection id that the API would refuse; no request is sent. */
  InvalidIdentifier: 'InvalidIdentifier',
  /** A proxy path that would leave the connection (`..`); no request is sent. */
  InvalidPath: 'InvalidPath',
} as const;

export class CredmanError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: CredmanErrorDetail[];
  readonly retryAfter?: number;

  constructor(code: string, message: string, options: CredmanErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 0;
    this.details = options.details ?? [];
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** 401/403 (`Unauthenticated`, `Forbidden`), or the caller's own token could not be obtained. */
export class CredmanAuthError extends CredmanError {}

/** 409: the connection cannot give tokens until someone acts (`ReauthorizationRequired`, `ConnectionNotConnected`, `ClientSecretInvalid`). */
export class CredmanConnectionError extends CredmanError {}

/** Still failing after the retries: 429, 502, 503, 504, network errors, timeouts. Worth trying again later. */
export class CredmanUnavailableError extends CredmanError {}

/** The subclass that fits an HTTP status (0: no answer). */
export function errorClassFor(status: number): typeof CredmanError {
  if (status === 401 || status === 403) return CredmanAuthError;
  if (status === 409) return CredmanConnectionError;
  if (status === 0 || isRetryableStatus(status)) return CredmanUnavailableError;
  return CredmanError;
}

export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}
