import {
  Badge,
  Button,
  makeStyles,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  tokens,
} from '@fluentui/react-components';
import { useCallback, useEffect, useRef, useState } from 'react';
import { all, ApiError, request, seg, type MyProviderResource } from './api';
import { ErrorMessage } from './ErrorMessage';
import { href } from './router';
import type { Loaded } from './useLoad';

// My connections (docs/console.md): a signed-in person's own connections under the providers that
// offer self-service, through the `me/` routes (docs/api.md, "Self-service connections"). Connect
// sends the browser to the person's own login link, which comes back here with a consent code;
// the page confirms it with the person's own token, so only the signed-in owner completes it.

type Mine = MyProviderResource['properties']['connection'];
type Action = 'connect' | 'reconnect' | 'disconnect';

const useStyles = makeStyles({
  actions: { display: 'flex', gap: tokens.spacingHorizontalS, flexWrap: 'wrap' },
  notice: { marginBottom: tokens.spacingVerticalM },
  dialog: {
    maxWidth: '32rem',
    padding: tokens.spacingHorizontalXXL,
    border: 'none',
    borderRadius: tokens.borderRadiusXLarge,
    boxShadow: tokens.shadow64,
    backgroundColor: tokens.colorNeutralBackground1,
    color: tokens.colorNeutralForeground1,
    '::backdrop': { backgroundColor: tokens.colorBackgroundOverlay },
  },
  dialogActions: { display: 'flex', justifyContent: 'flex-end', gap: tokens.spacingHorizontalS, marginTop: tokens.spacingVerticalL },
});

/**
 * The confirmation before a disconnect: the browser's own modal dialog (focus kept inside, the page
 * inert, Escape cancels, focus back where it was), not Fluent's Dialog, whose focus-trap elements
 * stay in the page after it closes and fail the accessibility scan (aria-hidden-focus).
 */
function ConfirmDisconnect({ name, onConfirm, onCancel }: { name: string; onConfirm: () => void; onCancel: () => void }) {
  const styles = useStyles();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className={styles.dialog}
      aria-labelledby="disconnect-title"
      aria-describedby="disconnect-text"
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <Text as="h3" id="disconnect-title" size={500} weight="semibold" block>
        Disconnect {name}?
      </Text>
      <p id="disconnect-text">credman deletes your connection and its tokens: your apps can no longer get tokens for this account until you connect again.</p>
      <div className={styles.dialogActions}>
        <Button appearance="primary" onClick={onConfirm}>
          Disconnect
        </Button>
        <Button appearance="secondary" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </dialog>
  );
}

const mine = (providerId: string) => `me/providers/${seg(providerId)}/connection`;
/** Where the person's sign-in comes back to: this page, naming the provider (the redirect adds status and consentCode). */
const returnUrl = (providerId: string) => `${location.origin}${href.me()}?provider=${encodeURIComponent(providerId)}`;
const nameOf = (p: MyProviderResource) => p.properties.displayName ?? p.name;

/** The person's connection state in plain words. */
function describe(c: Mine): { label: string; detail: string; color: 'success' | 'warning' | 'danger' | 'informative' } {
  if (!c) return { label: 'Not connected', detail: 'Connect to let your apps use your account there.', color: 'informative' };
  switch (c.status) {
    case 'Connected':
      return {
        label: 'Connected',
        // expiresOn is the current access token's end: credman renews it while the sign-in holds.
        detail: `Your apps can get tokens${c.expiresOn ? `; credman renews them (the current one lasts until ${new Date(c.expiresOn).toLocaleString()})` : ''}.`,
        color: 'success',
      };
    case 'Pending':
      return { label: 'Waiting for sign-in', detail: 'You have not finished signing in: connect to sign in.', color: 'warning' };
    default:
      return {
        label: 'Needs sign-in again',
        detail: `${c.error ? `${c.error.message} (${c.error.code}). ` : ''}Your apps cannot get tokens until you reconnect.`,
        color: 'danger',
      };
  }
}

/** What the sign-in's redirect back here said, for one provider. */
type Landing = { providerId: string; consentCode: string } | { providerId: string; failed: string };

/** Sign-in codes the redirect may carry, in words (docs/api.md's error catalogue has them all). */
const SIGN_IN_FAILURES: Readonly<Record<string, string>> = {
  ConsentDenied: 'You declined to grant access; nothing was connected.',
  BrowserMismatch: 'The sign-in finished in another browser than the one that started it, so nothing was connected.',
};

/** The code of a failed sign-in, as credman writes codes: anyone can put other text in an address. */
const errorCode = (code: string | null): string => (code && /^[A-Z][A-Za-z]{1,63}$/.test(code) ? code : 'SignInFailed');

/** The sign-in that came back, until a mounted page has shown its outcome (React may mount a page twice). */
let arrived: { landing: Landing; done: Promise<unknown> } | undefined;

/**
 * The address this page was opened at, when it is the end of the person's own sign-in: confirms
 * the consent code (it works once) with the person's token, so credman checks that they own the
 * connection, and takes the code out of the address bar and the history.
 */
function landing(token: string): typeof arrived {
  const q = new URLSearchParams(location.search);
  const providerId = q.get('provider');
  const status = q.get('status');
  if (providerId && status) {
    const consentCode = q.get('consentCode');
    const found: Landing = status === 'confirmationRequired' && consentCode ? { providerId, consentCode } : { providerId, failed: errorCode(q.get('code')) };
    const done = 'consentCode' in found ? request(token, 'POST', `${mine(providerId)}/confirmConsentCode`, { body: { consentCode: found.consentCode } }) : Promise.resolve();
    arrived = { landing: found, done };
    history.replaceState(history.state, '', location.pathname);
  }
  return arrived;
}

type Notice = { intent: 'success' | 'error'; title: string; text: string };

const failure = (title: string, error: unknown): Notice => {
  const e = error instanceof ApiError ? error : new ApiError(0, 'ConsoleError', error instanceof Error ? error.message : String(error));
  return { intent: 'error', title, text: `${e.code}: ${e.message}` };
};

export function MyConnectionsPage({ token }: { token: string }) {
  const styles = useStyles();
  const [list, setList] = useState<Loaded<MyProviderResource[]>>({ kind: 'loading' });
  const [notice, setNotice] = useState<Notice>();
  const [busy, setBusy] = useState<{ providerId: string; action: Action }>();
  const [asking, setAsking] = useState<MyProviderResource>();

  const reload = useCallback(async () => {
    try {
      const value = await all<MyProviderResource>(token, 'me/providers');
      setList({ kind: 'done', value });
      return value;
    } catch (error) {
      setList({ kind: 'failed', error });
      return undefined;
    }
  }, [token]);

  useEffect(() => {
    let current = true;
    const back = landing(token);
    void (async () => {
      let outcome: Notice | undefined;
      if (back) {
        const { landing: l, done } = back;
        outcome = await done.then(
          () =>
            'failed' in l
              ? { intent: 'error' as const, title: 'Nothing was connected', text: `${l.failed}: ${SIGN_IN_FAILURES[l.failed] ?? 'The sign-in did not finish.'} Connect to try again.` }
              : undefined,
          (error: unknown) => failure('Your sign-in could not be completed', error),
        );
      }
      const value = await reload();
      if (!current) return;
      if (back && !outcome && value) {
        const p = value.find((x) => x.name === back.landing.providerId);
        outcome = { intent: 'success', title: `Connected to ${p ? nameOf(p) : back.landing.providerId}`, text: 'Your apps can now get tokens for this account.' };
      }
      if (back === arrived) arrived = undefined;
      if (outcome) setNotice(outcome);
    })();
    return () => {
      current = false;
    };
  }, [token, reload]);

  /** Connect (create the connection, idempotent) or reconnect: the person's own login link, as a top-level navigation. */
  const signIn = async (p: MyProviderResource, action: 'connect' | 'reconnect') => {
    setBusy({ providerId: p.name, action });
    setNotice(undefined);
    try {
      if (action === 'connect') await request(token, 'PUT', mine(p.name));
      const { body } = await request<{ loginLink: string }>(token, 'POST', `${mine(p.name)}/getLoginLinks`, { body: { postLoginRedirectUrl: returnUrl(p.name) } });
      if (!/^https?:$/.test(new URL(body.loginLink).protocol)) throw new ApiError(0, 'ConsoleError', 'The API answered a login link that is not a web address.');
      location.assign(body.loginLink);
    } catch (error) {
      setBusy(undefined);
      setNotice(failure(`Could not connect to ${nameOf(p)}`, error));
    }
  };

  /** Disconnect: the DELETE, then the list again until the connection is gone. */
  const disconnect = async (p: MyProviderResource) => {
    setAsking(undefined);
    setBusy({ providerId: p.name, action: 'disconnect' });
    setNotice(undefined);
    try {
      await request(token, 'DELETE', mine(p.name));
      let gone = false;
      for (let attempt = 0; attempt < 10 && !gone; attempt++) {
        if (attempt) await new Promise((r) => setTimeout(r, 500));
        gone = !(await reload())?.find((x) => x.name === p.name)?.properties.connection;
      }
      setNotice(
        gone
          ? { intent: 'success', title: `Disconnected from ${nameOf(p)}`, text: 'Your apps can no longer get tokens for this account.' }
          : failure(`Disconnecting from ${nameOf(p)}`, new Error('The connection is still there; try again.')),
      );
    } catch (error) {
      setNotice(failure(`Could not disconnect from ${nameOf(p)}`, error));
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section aria-labelledby="me-heading">
      <Text as="h2" id="me-heading" size={600} block>
        My connections
      </Text>
      <p>Connect your own accounts at these providers: your apps then get tokens for them through credman, and only your apps, with your sign-in.</p>
      {notice && (
        <MessageBar intent={notice.intent} layout="multiline" className={styles.notice}>
          <MessageBarBody>
            <MessageBarTitle>{notice.title}</MessageBarTitle>
            {notice.text}
          </MessageBarBody>
        </MessageBar>
      )}
      {list.kind === 'loading' && <Spinner label="Loading your connections…" />}
      {list.kind === 'failed' && <ErrorMessage error={list.error} />}
      {list.kind === 'done' && list.value.length === 0 && <p>No provider offers self-service yet. Ask an administrator of credman to turn it on for one.</p>}
      {list.kind === 'done' && list.value.length > 0 && (
        <Table aria-labelledby="me-heading">
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Provider</TableHeaderCell>
              <TableHeaderCell>Status</TableHeaderCell>
              <TableHeaderCell>What it means</TableHeaderCell>
              <TableHeaderCell>Actions</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {list.value.map((p) => {
              const c = p.properties.connection;
              const status = describe(c);
              const name = nameOf(p);
              const working = busy?.providerId === p.name ? busy.action : undefined;
              return (
                <TableRow key={p.name}>
                  <TableCell>
                    {name} ({p.name})
                  </TableCell>
                  <TableCell>
                    <Badge appearance="tint" color={status.color}>
                      {status.label}
                    </Badge>
                  </TableCell>
                  <TableCell>{status.detail}</TableCell>
                  <TableCell>
                    {working ? (
                      <Spinner size="tiny" label={working === 'disconnect' ? 'Disconnecting…' : 'Going to sign-in…'} />
                    ) : (
                      <div className={styles.actions}>
                        {(!c || c.status === 'Pending') && (
                          <Button appearance="primary" disabled={busy !== undefined} aria-label={`Connect ${name}`} onClick={() => void signIn(p, 'connect')}>
                            Connect
                          </Button>
                        )}
                        {c && c.status !== 'Pending' && (
                          <Button
                            appearance={c.status === 'Error' ? 'primary' : 'secondary'}
                            disabled={busy !== undefined}
                            aria-label={`Reconnect ${name}`}
                            onClick={() => void signIn(p, 'reconnect')}
                          >
                            Reconnect
                          </Button>
                        )}
                        {c && (
                          <Button disabled={busy !== undefined} aria-label={`Disconnect ${name}`} onClick={() => setAsking(p)}>
                            Disconnect
                          </Button>
                        )}
                      </div>
                    )}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
      {asking && <ConfirmDisconnect name={nameOf(asking)} onConfirm={() => void disconnect(asking)} onCancel={() => setAsking(undefined)} />}
    </section>
  );
}
