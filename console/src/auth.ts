import { UserManager, WebStorageStateStore, type User } from 'oidc-client-ts';
import { CONSOLE_BASE, CONSOLE_CALLBACK } from '../../shared/consolePaths';

// Sign-in: OpenID Connect authorization code with PKCE (oidc-client-ts), configured by the app at
// /api/console/config.json (the CREDMAN_CONSOLE_OIDC setting). Tokens live in this tab's
// sessionStorage only. The session renews itself before the access token expires with the refresh
// token (scope offline_access): oidc-client-ts uses it instead of an iframe, which the CSP forbids.

export interface ConsoleConfig {
  configured: boolean;
  authority?: string;
  clientId?: string;
  scopes?: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(`${CONSOLE_BASE}config.json`, { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return (await response.json()) as ConsoleConfig;
}

export function userManager(config: Required<ConsoleConfig>): UserManager {
  return new UserManager({
    authority: config.authority,
    client_id: config.clientId,
    redirect_uri: `${location.origin}${CONSOLE_CALLBACK}`,
    post_logout_redirect_uri: `${location.origin}${CONSOLE_BASE}`,
    response_type: 'code',
    scope: config.scopes,
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    // The sign-in's own state (where to return, which may hold a consent code) too: never localStorage.
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
    automaticSilentRenew: true,
    monitorSession: false,
  });
}

export function displayName(user: User): string {
  return user.profile.name ?? user.profile.preferred_username ?? user.profile.sub;
}
