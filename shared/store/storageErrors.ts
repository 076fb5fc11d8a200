import { RestError } from '@azure/data-tables';
import { DependencyUnavailableError } from '../errors';

export function statusOf(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409;
export const isPreconditionFailed = (err: unknown): boolean => statusOf(err) === 412;

/** A Table Storage request that got no answer in time (see `withRequestTimeout`); its message names the request. */
export class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError';
}

/** Storage answers we do not expect (network, 5xx, auth, no answer in time) become a retryable 503. */
export function unavailable(err: unknown): never {
  const status = statusOf(err);
  if (status === undefined || status >= 500 || status === 401 || status === 403) {
    throw new DependencyUnavailableError('Storage', err);
  }
  throw err;
}
