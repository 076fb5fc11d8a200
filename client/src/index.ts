export { CredmanClient, type GetTokenOptions } from './client';
export { type CredmanClientOptions, type PlatformTokenProvider, DEFAULT_SCOPE, DEFAULT_MIN_VALIDITY } from './options';
export { type CredmanToken } from './response';
export { NO_EXPIRY_RECHECK_SECONDS } from './tokenCache';
export { type TokenResponseBody, type ErrorBody, type ErrorDetailBody, type ErrorCode, ERROR_CODES } from './contract';
export { fromFile, fromGitHubActions, DEFAULT_TOKEN_FILE, type GitHubActionsOptions } from './platformToken';
export { CredmanError, CredmanAuthError, CredmanConnectionError, CredmanUnavailableError, SdkErrorCode, type CredmanErrorDetail, type CredmanErrorOptions } from './errors';
export { parseRetryAfter } from './retry';
