import { readFile } from 'node:fs/promises';
import { callerTokenError } from './callerAuth';
import type { PlatformTokenProvider } from './options';

/** Where Kubernetes projects the service-account token when the pod spec names it so (see README). */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/tokens/credman';

/**
 * A token file, read each time a request needs it: the kubelet rewrites a projected
 * service-account token before it expires, so the file is the only source to trust.
 * Path: the argument, else `$CREDMAN_TOKEN_FILE` (read now, when the provider is made), else
 * `/var/run/secrets/tokens/credman`.
 */
export function fromFile(path?: string): PlatformTokenProvider {
  const file = path ?? process.env.CREDMAN_TOKEN_FILE ?? DEFAULT_TOKEN_FILE;
  if (typeof file !== 'string' || file === '') throw new TypeError('fromFile needs a path');
  return async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw callerTokenError(`cannot read the token file ${file} (${code})`, err);
    }
    const token = text.trim();
    if (!token) throw callerTokenError(`the token file ${file} is empty`);
    return token;
  };
}

export interface GitHubActionsOptions {
  /** The `aud` to ask for: one of the audiences credman's configuration accepts for GitHub's issuer. Default `api://credman`. */
  audience?: string;
  /** Default `$ACTIONS_ID_TOKEN_REQUEST_URL`, read each time (set in jobs with `permissions: id-token: write`). */
  requestUrl?: string;
  /** Default `$ACTIONS_ID_TOKEN_REQUEST_TOKEN`, read each time. */
  requestToken?: string;
  /** Default 10,000 ms. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** The GitHub Actions OIDC token of the running job, requested afresh each time (they live minutes). */
export function fromGitHubActions(options: GitHubActionsOptions = {}): PlatformTokenProvider {
  const audience = options.audience ?? 'api://credman';
  if (typeof audience !== 'string' || audience === '') throw new TypeError('audience must be a non-empty string');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('timeoutMs must be a positive integer');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('fetch must be a function');
  return async () => {
    const requestUrl = options.requestUrl ?? process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const requestToken = options.requestToken ?? process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!requestUrl || !requestToken) {
      throw callerTokenError('ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set (does the job have `permissions: id-token: write`?)');
    }
    let url: URL;
    try {
      url = new URL(requestUrl);
    } catch {
      throw callerTokenError('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
    }
    url.searchParams.set('audience', audience);
    let res: Response;
    try {
      res = await fetchImpl(url, {
        headers: { authorization: `bearer ${requestToken}`, accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw callerTokenError(`the GitHub Actions token endpoint could not be reached (${(err as Error)?.name ?? 'error'})`, err);
    }
    // The body is not echoed: it is either the token or GitHub's error page.
    if (!res.ok) {
      await res.body?.cancel();
      throw callerTokenError(`the GitHub Actions token endpoint answered HTTP ${res.status}`);
    }
    let value: unknown;
    try {
      value = ((await res.json()) as { value?: unknown })?.value;
    } catch {
      throw callerTokenError('the GitHub Actions token endpoint sent no JSON');
    }
    if (typeof value !== 'string' || value === '') throw callerTokenError('the GitHub Actions token endpoint sent no `value`');
    return value;
  };
}
