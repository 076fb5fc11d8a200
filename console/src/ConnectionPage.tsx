import {
  Badge,
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  DialogTrigger,
  Field,
  Link,
  makeStyles,
  MessageBar,
  MessageBarBody,
  ProgressBar,
  Spinner,
  Text,
  tokens,
} from '@fluentui/react-components';
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { AccessPoliciesSection } from './AccessPoliciesSection';
import { ApiError, request, seg, type Connection } from './api';
import { ErrorMessage } from './ErrorMessage';
import { NavLink, useNavigate } from './navigation';
import { accountOf, CopyField, describeStatus, when } from './ProviderPage';
import { href } from './router';

// One connection: its status and dates, what its lifecycle does next, a login link to (re)connect
// it, and a delete that waits for the API to finish.

const useStyles = makeStyles({
  facts: { display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: tokens.spacingHorizontalL, rowGap: tokens.spacingVerticalXS, margin: `${tokens.spacingVerticalM} 0` },
  term: { fontWeight: tokens.fontWeightSemibold },
  pair: { display: 'contents' },
  section: { marginTop: tokens.spacingVerticalXL, display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalS, maxWidth: '48rem' },
  actions: { display: 'flex', gap: tokens.spacingHorizontalM },
});

/** The lifecycle's reasons (shared/lifecycle/plan.ts) in words; one it does not know is shown as is. */
const REASONS: Record<string, string> = {
  ahead: 'the token is near its end',
  expired: 'the token has expired',
  exercise: 'the refresh token would otherwise go unused too long',
  tokenDue: 'when the token is due for a refresh',
  tokenEnds: 'when the token ends',
  idleDeadline: 'before the refresh token would go unused too long',
  activeWindowEnds: 'when recent use stops counting',
  warning: 'to warn before the connection ends',
  nothingDue: 'nothing is due before then',
};

/** What the connection's lifecycle does next, in plain words. */
export function describeLifecycle(l: Connection['properties']['lifecycle']): string {
  if (!l) return 'Not reported.';
  const at = l.wakeOn ? when(l.wakeOn) : undefined;
  const base = {
    refresh: `credman refreshes its token${at ? ` on ${at}` : ' now'}`,
    sleep: `Nothing to do until ${at ?? 'it is needed'}`,
    awaitConsent: 'Waiting for someone to sign in with a login link: apps get no token until then',
    stop: 'Its lifecycle has ended: credman does nothing more with it until it is connected again',
  }[l.action];
  return l.reason ? `${base} (${REASONS[l.reason] ?? l.reason}).` : `${base}.`;
}

type Loaded = { kind: 'loading' } | { kind: 'failed'; error: unknown } | { kind: 'done'; value: Connection };

/** The connection, read again on `reload` without blanking what is shown. */
function useConnection(token: string, path: string): [Loaded, () => Promise<Connection | undefined>] {
  const [state, setState] = useState<Loaded>({ kind: 'loading' });
  const reload = useCallback(
    () =>
      request<Connection>(token, 'GET', path).then(
        (r) => {
          setState({ kind: 'done', value: r.body });
          return r.body;
        },
        (error: unknown) => {
          setState({ kind: 'failed', error });
          return undefined;
        },
      ),
    [token, path],
  );
  useEffect(() => {
    setState({ kind: 'loading' });
    void reload();
  }, [reload]);
  return [state, reload];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FINISHED = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

function Facts({ c }: { c: Connection }) {
  const styles = useStyles();
  const p = c.properties;
  const status = describeStatus(c);
  const rows: Array<[string, ReactNode]> = [
    [
      'Status',
      <>
        <Badge appearance="tint" color={status.color}>
          {status.label}
        </Badge>{' '}
        {status.detail}
      </>,
    ],
    ['Grant', p.oauth2grantType === 'AuthorizationCode' ? 'Authorization code: a person signs in' : 'Client credentials: the app signs in as itself'],
    ['Account', accountOf(c)],
    // Read-only here: an administrator turns it on with the API's PUT (docs/mcp.md).
    ['Raw token to agents', p.agentTokenAccess ? 'Allowed: the MCP get_token tool returns it to policy holders' : 'Off: agents use it through call_api'],
    ['Token expires', when(p.expiresOn)],
    ['Refresh token ends', when(p.refreshTokenExpiresOn)],
    ['Last refresh', when(p.lastRefreshedOn)],
    ['Consented', when(p.consentedOn)],
    ['Last used', when(p.lastUsedOn)],
    ['Next', describeLifecycle(p.lifecycle)],
    ['Created', when(p.createdOn)],
    ['Changed', when(p.changedOn)],
  ];
  if (p.error)
    rows.splice(1, 0, [
      'Error',
      <>
        <code>{p.error.code}</code>: {p.error.message}
      </>,
    ]);
  return (
    <dl className={styles.facts}>
      {rows.map(([term, value]) => (
        <div key={term} className={styles.pair}>
          <dt className={styles.term}>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function LoginLink({ token, path, c, onIssued }: { token: string; path: string; c: Connection; onIssued: () => void }) {
  const [link, setLink] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const reconnect = c.properties.status === 'Error';
  async function issue() {
    setBusy(true);
    setError(undefined);
    try {
      // No postLoginRedirectUrl: the link is for the account's owner, who may not be an admin of
      // credman; credman's own confirmation page shows them what they connect, and they confirm there.
      const r = await request<{ loginLink: string }>(token, 'POST', `${path}/getLoginLinks`, { body: {} });
      setLink(r.body.loginLink);
      onIssued();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <Text>
        {reconnect
          ? 'Apps cannot get tokens until the account owner signs in again: get a new login link and send it to them.'
          : 'A login link lets the account owner sign in at the identity provider and consent. It works once, for 10 minutes.'}
      </Text>
      <div>
        <Button appearance={reconnect ? 'primary' : 'secondary'} onClick={() => void issue()} disabled={busy}>
          {reconnect ? 'Reconnect' : 'Get login link'}
        </Button>
      </div>
      {error !== undefined && <ErrorMessage error={error} />}
      {link && (
        <>
          <CopyField label="Login link" value={link} hint="Works once, for 10 minutes. This page updates when the sign-in is done." />
          <Link href={link} target="_blank" rel="noopener noreferrer">
            Open the login link
          </Link>
        </>
      )}
    </>
  );
}

function DeleteConnection({ token, path, providerId, name }: { token: string; path: string; providerId: string; name: string }) {
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'deleting'; progress?: string } | { kind: 'deleted' } | { kind: 'failed'; error: unknown }>({ kind: 'idle' });
  const trigger = useRef<HTMLButtonElement>(null);
  // Leave the page only once the dialog is gone and Fluent's focus manager has given the rest of
  // the page back (it lifts its aria-hidden shortly after the closing motion): unmounted earlier,
  // the dialog leaves the page hidden from assistive technology (adminJourney.test.ts checks).
  const leaveWhenClosed = async () => {
    for (let waited = 0; waited < 5000; waited += 50) {
      const hidden = trigger.current?.closest('[aria-hidden="true"]');
      if (!document.querySelector('[role="alertdialog"]') && !hidden) break;
      await sleep(50);
    }
    navigate(href.provider(providerId));
  };
  async function remove() {
    setState({ kind: 'deleting' });
    try {
      const r = await request<{ id?: string; status?: string }>(token, 'DELETE', path);
      // A durable delete answers 202 with its operation: wait for it to finish.
      if (r.status === 202 && r.body?.id) {
        for (;;) {
          const op = await request<{ status: string }>(token, 'GET', `operations/${seg(r.body.id)}`);
          if (FINISHED.has(op.body.status)) {
            if (op.body.status !== 'Completed') throw new ApiError(0, 'OperationFailed', `The delete ended ${op.body.status}.`);
            break;
          }
          setState({ kind: 'deleting', progress: op.body.status });
          await sleep(1000);
        }
      }
      setState({ kind: 'deleted' });
      setOpen(false);
      await leaveWhenClosed();
    } catch (error) {
      setState({ kind: 'failed', error });
    }
  }
  const deleting = state.kind === 'deleting';
  return (
    <Dialog open={open} modalType="alert" onOpenChange={(_, d) => !deleting && setOpen(d.open)}>
      <DialogTrigger disableButtonEnhancement>
        <Button ref={trigger}>Delete connection</Button>
      </DialogTrigger>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Delete {name}?</DialogTitle>
          <DialogContent>
            <p>Its tokens and access policies are deleted, and apps can no longer get tokens through it. This cannot be undone.</p>
            {deleting && (
              <Field validationMessage={state.progress ? `Deleting: ${state.progress}…` : 'Deleting…'} validationState="none">
                <ProgressBar aria-label="Deleting the connection" />
              </Field>
            )}
            {state.kind === 'failed' && <ErrorMessage error={state.error} />}
          </DialogContent>
          <DialogActions>
            <Button appearance="secondary" disabled={deleting} onClick={() => setOpen(false)}>
              Keep it
            </Button>
            <Button appearance="primary" disabled={deleting || state.kind === 'deleted'} onClick={() => void remove()}>
              Delete
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

/** How long after a login link is issued the page keeps checking for the sign-in (the link's life). */
const WATCH_MS = 10 * 60_000;

export function ConnectionPage({ token, providerId, connectionId }: { token: string; providerId: string; connectionId: string }) {
  const styles = useStyles();
  const path = `providers/${seg(providerId)}/connections/${seg(connectionId)}`;
  const [connection, reload] = useConnection(token, path);
  const [watchUntil, setWatchUntil] = useState(0);
  const changedOn = connection.kind === 'done' ? connection.value.properties.changedOn : undefined;
  const issuedAt = useRef<string | undefined>(undefined);

  // While a login link is out, read the connection every 3 s until the sign-in changed it.
  useEffect(() => {
    if (!watchUntil) return;
    const timer = setInterval(() => {
      if (Date.now() > watchUntil) return setWatchUntil(0);
      void reload().then((c) => {
        if (c && c.properties.changedOn !== issuedAt.current) setWatchUntil(0);
      });
    }, 3000);
    return () => clearInterval(timer);
  }, [watchUntil, reload]);

  return (
    <section aria-labelledby="connection-heading">
      <nav aria-label="Breadcrumb">
        <NavLink to={href.providers()}>Providers</NavLink> / <NavLink to={href.provider(providerId)}>{providerId}</NavLink>
      </nav>
      <Text as="h2" id="connection-heading" size={600} block>
        {connection.kind === 'done' ? (connection.value.properties.displayName ?? connectionId) : connectionId} ({connectionId})
      </Text>
      {connection.kind === 'loading' && <Spinner label="Loading the connection…" />}
      {connection.kind === 'failed' && <ErrorMessage error={connection.error} />}
      {connection.kind === 'done' && (
        <>
          <Facts c={connection.value} />
          <div className={styles.actions}>
            <Button onClick={() => void reload()}>Refresh</Button>
          </div>
          {connection.value.properties.oauth2grantType === 'AuthorizationCode' && (
            <section aria-labelledby="login-heading" className={styles.section}>
              <Text as="h3" id="login-heading" size={500} block>
                Sign-in
              </Text>
              <LoginLink
                token={token}
                path={path}
                c={connection.value}
                onIssued={() => {
                  issuedAt.current = changedOn;
                  setWatchUntil(Date.now() + WATCH_MS);
                }}
              />
              {watchUntil > 0 && (
                <MessageBar intent="info">
                  <MessageBarBody>Waiting for the sign-in…</MessageBarBody>
                </MessageBar>
              )}
            </section>
          )}
          <AccessPoliciesSection token={token} providerId={providerId} connectionId={connectionId} />
          <section aria-labelledby="delete-heading" className={styles.section}>
            <Text as="h3" id="delete-heading" size={500} block>
              Delete
            </Text>
            <div>
              <DeleteConnection token={token} path={path} providerId={providerId} name={connection.value.properties.displayName ?? connectionId} />
            </div>
          </section>
        </>
      )}
    </section>
  );
}
