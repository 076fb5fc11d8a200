import { Button, makeStyles, MessageBar, MessageBarBody, MessageBarTitle, Spinner, Text, tokens } from '@fluentui/react-components';
import type { User, UserManager } from 'oidc-client-ts';
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { CONSOLE_BASE as BASE, CONSOLE_CALLBACK as CALLBACK } from '../../shared/consolePaths';
import { displayName, loadConfig, userManager } from './auth';
import { useRole, type Role } from './role';
import { NavigationContext, NavLink } from './navigation';
import { href, parse, type Route } from './router';
import type { Loaded } from './useLoad';

// Pages load when first shown (the sign-in page needs none of them): each is its own chunk, from
// this origin as the CSP's script-src 'self' allows.
const CataloguePage = lazy(() => import('./CataloguePage').then((m) => ({ default: m.CataloguePage })));
const ConnectionPage = lazy(() => import('./ConnectionPage').then((m) => ({ default: m.ConnectionPage })));
const Home = lazy(() => import('./Home').then((m) => ({ default: m.Home })));
const MyConnectionsPage = lazy(() => import('./MyConnectionsPage').then((m) => ({ default: m.MyConnectionsPage })));
const OperationsPage = lazy(() => import('./OperationsPage').then((m) => ({ default: m.OperationsPage })));
const ProviderPage = lazy(() => import('./ProviderPage').then((m) => ({ default: m.ProviderPage })));
const ProvidersPage = lazy(() => import('./ProvidersPage').then((m) => ({ default: m.ProvidersPage })));
const WebhooksPage = lazy(() => import('./WebhooksPage').then((m) => ({ default: m.WebhooksPage })));

const useStyles = makeStyles({
  header: {
    display: 'flex',
    alignItems: 'center',
    gap: tokens.spacingHorizontalM,
    padding: `${tokens.spacingVerticalM} ${tokens.spacingHorizontalXL}`,
    backgroundColor: tokens.colorBrandBackground,
    color: tokens.colorNeutralForegroundOnBrand,
  },
  title: { flexGrow: 1, color: tokens.colorNeutralForegroundOnBrand },
  nav: {
    display: 'flex',
    gap: tokens.spacingHorizontalL,
    padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalXL}`,
    borderBottom: `${tokens.strokeWidthThin} solid ${tokens.colorNeutralStroke2}`,
  },
  headerLink: { color: tokens.colorNeutralForegroundOnBrand, ':hover': { color: tokens.colorNeutralForegroundOnBrand }, ':hover:active': { color: tokens.colorNeutralForegroundOnBrand } },
  main: { padding: `${tokens.spacingVerticalL} ${tokens.spacingHorizontalXL}`, maxWidth: '72rem' },
});

type State =
  { kind: 'loading' } | { kind: 'notConfigured' } | { kind: 'failed'; message: string } | { kind: 'signedOut'; manager: UserManager } | { kind: 'signedIn'; manager: UserManager; user: User };

/** The page a route names, for a signed-in person with this access token. */
function Page({ route, token, role }: { route: Route; token: string; role: Loaded<Role> }) {
  switch (route.page) {
    case 'catalogue':
      return <CataloguePage token={token} />;
    case 'home':
      return <Home token={token} role={role} />;
    case 'me':
      return <MyConnectionsPage token={token} />;
    case 'provider':
      return <ProviderPage token={token} providerId={route.providerId} />;
    case 'connection':
      return <ConnectionPage token={token} providerId={route.providerId} connectionId={route.connectionId} />;
    case 'webhooks':
      return <WebhooksPage token={token} />;
    case 'operations':
      return <OperationsPage token={token} />;
    case 'notFound':
      return <p>The console has no such page.</p>;
    default:
      return <ProvidersPage token={token} />;
  }
}

/** The admin's pages, and which routes count as each. */
const SECTIONS: { label: string; to: string; pages: Route['page'][] }[] = [
  { label: 'Providers', to: href.providers(), pages: ['home', 'providers'] },
  { label: 'Webhooks', to: href.webhooks(), pages: ['webhooks'] },
  { label: 'Operations', to: href.operations(), pages: ['operations'] },
];

/** A signed-in person's console: the admin sections when the server says they administer it, and the page. */
function SignedIn({ user, route }: { user: User; route: Route }) {
  const styles = useStyles();
  const role = useRole(user.profile.sub, user.access_token);
  return (
    <>
      {role.kind === 'done' && role.value === 'admin' && (
        <nav aria-label="Console" className={styles.nav}>
          {SECTIONS.map((s) => (
            <NavLink key={s.to} to={s.to} current={s.pages.includes(route.page)}>
              {s.label}
            </NavLink>
          ))}
        </nav>
      )}
      <main className={styles.main}>
        <Suspense fallback={<Spinner label="Loading…" />}>
          <Page route={route} token={user.access_token} role={role} />
        </Suspense>
      </main>
    </>
  );
}

let starting: Promise<State> | undefined;
/** Where sign-in returns to when the address had to forget it (a consent code); else the page as it is. */
let returnTo: string | undefined;

/**
 * Once per page load (effects may run twice): the configuration, the sign-in response when this is
 * the callback (its state is single-use), then the signed-in user of this tab, if any.
 */
function start(): Promise<State> {
  starting ??= (async (): Promise<State> => {
    try {
      const config = await loadConfig();
      if (!config.configured || !config.authority || !config.clientId || !config.scopes) return { kind: 'notConfigured' };
      const manager = userManager({ configured: true, authority: config.authority, clientId: config.clientId, scopes: config.scopes });
      if (location.pathname === CALLBACK) {
        const user = await manager.signinRedirectCallback();
        const back = typeof user.state === 'string' && user.state.startsWith(BASE) && user.state !== CALLBACK ? user.state : BASE;
        history.replaceState(null, '', back);
      }
      const user = await manager.getUser();
      if (user && !user.expired) return { kind: 'signedIn', manager, user };
      // Signed out on a page whose address holds a consent code: the code leaves the address bar and
      // history now, and goes on only in the sign-in's state (this tab's sessionStorage).
      if (new URLSearchParams(location.search).has('consentCode')) {
        returnTo = location.pathname + location.search;
        history.replaceState(null, '', location.pathname);
      }
      return { kind: 'signedOut', manager };
    } catch (err) {
      // oidc-client-ts errors carry the provider's error_description; nothing else is shown.
      return { kind: 'failed', message: err instanceof Error ? err.message : String(err) };
    }
  })();
  return starting;
}

export function App() {
  const styles = useStyles();
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [path, setPath] = useState(location.pathname);

  useEffect(() => {
    let cancelled = false;
    void start().then((next) => {
      if (cancelled) return;
      setPath(location.pathname);
      setState(next);
    });
    return () => {
      cancelled = true;
    };
  }, []);

  // The renewed session (refresh token) replaces the user; one that can no longer renew signs out.
  const manager = state.kind === 'signedIn' || state.kind === 'signedOut' ? state.manager : undefined;
  useEffect(() => {
    if (!manager) return;
    const loaded = (user: User) => setState({ kind: 'signedIn', manager, user });
    const expired = () => setState({ kind: 'signedOut', manager });
    manager.events.addUserLoaded(loaded);
    manager.events.addAccessTokenExpired(expired);
    return () => {
      manager.events.removeUserLoaded(loaded);
      manager.events.removeAccessTokenExpired(expired);
    };
  }, [manager]);

  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const route = parse(path);
  const navigate = useCallback((to: string) => {
    history.pushState(null, '', to);
    setPath(to);
  }, []);

  return (
    <NavigationContext.Provider value={navigate}>
      <header className={styles.header}>
        <Text as="h1" size={500} weight="semibold" className={styles.title}>
          credman console
        </Text>
        {state.kind === 'signedIn' && (
          <>
            <nav aria-label="Your account">
              <NavLink to={href.me()} current={parse(path).page === 'me'} className={styles.headerLink}>
                My connections
              </NavLink>
            </nav>
            <Text>Signed in as {displayName(state.user)}</Text>
            <Button appearance="secondary" onClick={() => void state.manager.signoutRedirect()}>
              Sign out
            </Button>
          </>
        )}
      </header>
      {state.kind === 'signedIn' && <SignedIn user={state.user} route={route} />}
      {state.kind !== 'signedIn' && (
        <main className={styles.main}>
          {state.kind === 'loading' && <Spinner label="Loading…" />}
          {state.kind === 'notConfigured' && (
            <MessageBar intent="warning">
              <MessageBarBody>
                <MessageBarTitle>Sign-in is not configured</MessageBarTitle>
                The app has no CREDMAN_CONSOLE_OIDC setting, so the console cannot sign anyone in.
              </MessageBarBody>
            </MessageBar>
          )}
          {state.kind === 'failed' && (
            <MessageBar intent="error">
              <MessageBarBody>
                <MessageBarTitle>Sign-in failed</MessageBarTitle>
                {state.message}
              </MessageBarBody>
            </MessageBar>
          )}
          {state.kind === 'signedOut' && (
            <section aria-labelledby="signin-heading">
              <Text as="h2" id="signin-heading" size={600} block>
                Sign in
              </Text>
              <p>Sign in to manage providers and connections.</p>
              <Button appearance="primary" onClick={() => void state.manager.signinRedirect({ state: returnTo ?? location.pathname + location.search })}>
                Sign in
              </Button>
            </section>
          )}
        </main>
      )}
    </NavigationContext.Provider>
  );
}
