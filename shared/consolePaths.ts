// Where the app serves the console (the `console` route of shared/api/routes.ts under the host's
// /api prefix), and its sign-in redirect: one place for the app that serves it, the console that
// signs in, the local OpenID provider that registers it, and the test that holds infra/main.bicep
// to it. Free of imports: the console's browser bundle takes it too.

/** The console's root page, with its trailing slash (the post-logout redirect, Vite's `base`). */
export const CONSOLE_BASE = '/api/console/';

/** The page that completes the authorization code flow (a registered redirect URI). */
export const CONSOLE_CALLBACK = `${CONSOLE_BASE}callback`;
