import { app, type HttpRequest } from '@azure/functions';
import { ConfigurationError, CredmanError, DependencyUnavailableError } from '../../shared/errors';
import type { AuthKind } from '../../shared/api/routes';
import { requirePerson, type Caller } from '../../shared/identity/caller';
import { createServices, type Services } from '../../shared/services';
import { loadSettings, SettingsError } from '../../shared/settings';

// One Services per process, built on first need and awaited by every invocation. A build that
// fails is not remembered: the next invocation builds again (storage roles still propagating
// after a deployment, a blip at cold start). Bad settings answer every request with a 500 that
// names them; a dependency away at start answers 503 with Retry-After.

let services: Promise<Services> | undefined;

export function getServices(): Promise<Services> {
  services ??= (async () => {
    const settings = loadSettings(process.env);
    return createServices(settings, { log });
  })().catch((err: unknown) => {
    services = undefined;
    const failure = startFailure(err);
    logStartFailure(failure);
    throw failure;
  });
  return services;
}

const START_LOG_INTERVAL_MS = 60_000;
let lastStartLog = -Infinity;

/** Why the services could not be built, at most once a minute (every request tries again). */
function logStartFailure(err: CredmanError): void {
  if (Date.now() - lastStartLog < START_LOG_INTERVAL_MS) return;
  lastStartLog = Date.now();
  // SettingsError problems name settings and never quote values; other causes by name and code only.
  const cause = err.cause;
  const detail = cause instanceof SettingsError ? `\n${cause.problems.map((p) => `  - ${p}`).join('\n')}` : cause ? ` (${describe(cause)})` : '';
  log('error', `start: ${err.message}${detail}; requests will try again`);
}

function startFailure(err: unknown): CredmanError {
  if (err instanceof SettingsError) return new ConfigurationError(err.names, err);
  if (err instanceof CredmanError) return err;
  return new DependencyUnavailableError("credman's storage or key store", err);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  (level === 'error' ? console.error : level === 'warn' ? console.warn : console.info)(`[credman] ${message}`);
}

// The worker awaits appStart and a rejection fails its init: the host restarts the worker and,
// after repeated failures, recycles the instance — a crash loop for a storage blip or a bad
// setting. So the hook starts the build (warming the first request) and never throws.
app.hook.appStart(() => {
  getServices().catch(() => undefined); // logged by getServices
});

function describe(err: unknown): string {
  if (!(err instanceof Error)) return typeof err;
  const code = (err as { code?: unknown }).code;
  return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}`;
}

/**
 * The services, and for `admin`, `connect`, `policy` and `person` routes the authenticated caller
 * (every failure a 401; `admin` also requires the admin app role, `connect` the admin or the connect
 * app role, 403). A `policy` caller is checked against the connection's access policies by the token
 * service; a `person` must be a person's delegated token (an app's own is 403) and reaches only their
 * own self-service connection (shared/management/selfService.ts).
 */
export async function authorize(kind: Exclude<AuthKind, 'anonymous'>, request: HttpRequest): Promise<{ services: Services; caller?: Caller }> {
  const services = await getServices();
  if (kind === 'browser') return { services };
  const caller = await services.auth.authenticate(request.headers.get('authorization'));
  if (kind === 'admin') services.auth.requireAdmin(caller);
  if (kind === 'connect') services.auth.requireConnect(caller);
  if (kind === 'person') requirePerson(caller);
  return { services, caller };
}
