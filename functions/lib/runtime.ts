import { app, type HttpRequest } from '@azure/functions';
import type { Caller } from '../../shared/identity/caller';
import { createServices, type Services } from '../../shared/services';
import { loadSettings } from '../../shared/settings';

// One Services per process, built when the app starts (so bad settings fail at start-up with a
// message naming each one) and awaited by every invocation.

let services: Promise<Services> | undefined;

export function getServices(): Promise<Services> {
  services ??= (async () => {
    const settings = loadSettings(process.env);
    return createServices(settings, {
      log: (level, message) => (level === 'error' ? console.error : level === 'warn' ? console.warn : console.info)(`[credman] ${message}`),
    });
  })().catch((err: unknown) => {
    // A failed start (storage or Key Vault away during a cold start) is not remembered: the next
    // invocation tries again, instead of the instance failing every request until it is recycled.
    services = undefined;
    throw err;
  });
  return services;
}

app.hook.appStart(async () => {
  await getServices();
});

/** Authenticates the caller and requires the admin app role. */
export async function requireAdmin(request: HttpRequest): Promise<Services> {
  const s = await getServices();
  const caller: Caller = await s.auth.authenticate(request.headers.get('authorization'));
  s.auth.requireAdmin(caller);
  return s;
}
