import {
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  MessageBar,
  MessageBarActions,
  MessageBarBody,
  MessageBarTitle,
  SpinButton,
  Spinner,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { useState, type FormEvent } from 'react';
import { DEFAULT_KEEP_PREVIOUS_SECRET_HOURS, MAX_KEEP_PREVIOUS_SECRET_HOURS as MAX_KEEP, WEBHOOK_EVENTS, type WebhookEventType } from '../../shared/model/constants';
import type { WebhookPut, WebhookResource } from '../../shared/model/webhookSchemas';
import { all, request, seg } from './api';
import { ErrorMessage } from './ErrorMessage';
import { useFormStyles } from './forms';
import { useLoad } from './useLoad';

// Webhook subscriptions (docs/webhooks.md): listed, created, their signing secret rotated, deleted.
// A signing secret is in the answer that issues it only: it is shown here once, kept in this
// page's memory alone (never in storage or the address), and gone on reload.

const useStyles = makeStyles({
  events: { display: 'flex', flexDirection: 'column', border: 'none', padding: 0, margin: 0 },
  list: { margin: 0, paddingLeft: tokens.spacingHorizontalL },
});

interface Issued {
  name: string;
  secret: string;
  previousSecretExpiresOn?: string;
}
type WithSecret = WebhookResource & { properties: { secret: string } };

/** What the API accepts: https; http and private addresses only on an instance that allows private networks (local development), which the API decides. */
function urlProblem(s: string): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return 'An absolute URL, such as https://hooks.example.com/credman.';
  }
  if (url.protocol === 'https:') return undefined;
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol === 'http:' && loopback) return undefined;
  return 'An https URL (http only to this machine, where the instance allows private networks).';
}

/** A whole number of hours the API takes; anything else keeps the previous value. */
const hours = (v: number, previous: number) => (Number.isFinite(v) ? Math.min(MAX_KEEP, Math.max(0, Math.round(v))) : previous);

function SecretOnce({ issued, onDone }: { issued: Issued; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean>();
  const copy = () =>
    navigator.clipboard.writeText(issued.secret).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <MessageBar intent="warning" layout="multiline" role="region" aria-label={`Signing secret of ${issued.name}`}>
      <MessageBarBody>
        <MessageBarTitle>Signing secret of {issued.name}: copy it now, you will not see it again</MessageBarTitle>
        <p>Store it where the receiver verifies deliveries (Standard Webhooks). credman shows it in this answer only; rotate the secret if you lose it.</p>
        {issued.previousSecretExpiresOn && <p>The previous secret signs too until {new Date(issued.previousSecretExpiresOn).toLocaleString()}.</p>}
        <Field label="Signing secret">
          <Input readOnly value={issued.secret} spellCheck={false} autoComplete="off" />
        </Field>
        {copied === true && <p role="status">Copied to the clipboard.</p>}
        {copied === false && <p role="status">The browser did not allow copying: select the secret and copy it by hand.</p>}
      </MessageBarBody>
      <MessageBarActions>
        <Button onClick={() => void copy()}>Copy</Button>
        <Button appearance="primary" onClick={onDone}>
          I have stored it
        </Button>
      </MessageBarActions>
    </MessageBar>
  );
}

export function WebhooksPage({ token }: { token: string }) {
  const styles = useStyles();
  const forms = useFormStyles();
  const [version, setVersion] = useState(0);
  const webhooks = useLoad(`webhooks:${token}:${version}`, () => all<WebhookResource>(token, 'webhooks'));
  const reload = () => setVersion((v) => v + 1);

  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEventType[]>([]);
  const [problems, setProblems] = useState<{ url?: string; events?: string }>({});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const [issued, setIssued] = useState<Issued>();
  const [rotating, setRotating] = useState<WebhookResource>();
  const [keepHours, setKeepHours] = useState(DEFAULT_KEEP_PREVIOUS_SECRET_HOURS);
  const [deleting, setDeleting] = useState<{ webhook: WebhookResource; etag?: string }>();

  const showSecret = (w: WithSecret) =>
    setIssued({ name: w.name, secret: w.properties.secret, ...(w.properties.previousSecretExpiresOn ? { previousSecretExpiresOn: w.properties.previousSecretExpiresOn } : {}) });

  async function create(e: FormEvent) {
    e.preventDefault();
    setFailure(undefined);
    const next = { url: urlProblem(url.trim()), events: events.length ? undefined : 'Choose at least one event.' };
    setProblems(next);
    if (next.url || next.events) return;
    setBusy(true);
    try {
      // In the catalogue's order, whatever order they were ticked in.
      const body: WebhookPut = { properties: { url: url.trim(), events: WEBHOOK_EVENTS.filter((ev) => events.includes(ev)) } };
      showSecret((await request<WithSecret>(token, 'POST', 'webhooks', { body })).body);
      setUrl('');
      setEvents([]);
      reload();
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  }

  async function rotate() {
    if (!rotating) return;
    const name = rotating.name;
    setRotating(undefined);
    setFailure(undefined);
    try {
      showSecret((await request<WithSecret>(token, 'POST', `webhooks/${seg(name)}/rotateSecret`, { body: { keepPreviousSecretForHours: keepHours } })).body);
    } catch (err) {
      setFailure(err);
    }
    reload();
  }

  async function askDelete(w: WebhookResource) {
    setFailure(undefined);
    try {
      const fresh = await request<WebhookResource>(token, 'GET', `webhooks/${seg(w.name)}`);
      setDeleting({ webhook: fresh.body, ...(fresh.etag ? { etag: fresh.etag } : {}) });
    } catch (err) {
      setFailure(err);
      reload();
    }
  }

  async function confirmDelete() {
    if (!deleting) return;
    const { webhook, etag } = deleting;
    setDeleting(undefined);
    try {
      await request(token, 'DELETE', `webhooks/${seg(webhook.name)}`, etag ? { ifMatch: etag } : {});
      if (issued?.name === webhook.name) setIssued(undefined);
    } catch (err) {
      setFailure(err);
    }
    reload();
  }

  const toggle = (ev: WebhookEventType, on: boolean) => setEvents((list) => (on ? [...list, ev] : list.filter((x) => x !== ev)));

  return (
    <section aria-labelledby="webhooks-heading">
      <Text as="h2" id="webhooks-heading" size={600} block>
        Webhooks
      </Text>
      <p>Subscriptions to connection events: credman POSTs each event to the URL, signed with the subscription&rsquo;s secret.</p>
      {issued && <SecretOnce issued={issued} onDone={() => setIssued(undefined)} />}
      {failure !== undefined && <ErrorMessage error={failure} />}
      {webhooks.kind === 'loading' && <Spinner label="Loading webhooks…" />}
      {webhooks.kind === 'failed' && <ErrorMessage error={webhooks.error} />}
      {webhooks.kind === 'done' && webhooks.value.length === 0 && <p>No subscription yet.</p>}
      {webhooks.kind === 'done' && webhooks.value.length > 0 && (
        <Table aria-labelledby="webhooks-heading">
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Subscription</TableHeaderCell>
              <TableHeaderCell>URL</TableHeaderCell>
              <TableHeaderCell>Events</TableHeaderCell>
              <TableHeaderCell>State</TableHeaderCell>
              <TableHeaderCell>Actions</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {webhooks.value.map((w) => {
              const previous = w.properties.previousSecretExpiresOn;
              return (
                <TableRow key={w.id}>
                  <TableCell className={forms.cell}>{w.name}</TableCell>
                  <TableCell className={forms.cell}>{w.properties.url}</TableCell>
                  <TableCell className={forms.cell}>
                    <ul className={styles.list}>
                      {w.properties.events.map((ev) => (
                        <li key={ev}>{ev}</li>
                      ))}
                    </ul>
                  </TableCell>
                  <TableCell>
                    {w.properties.signed ? 'Signed' : 'Unsigned'}
                    {previous && new Date(previous) > new Date() ? `; the previous secret signs too until ${new Date(previous).toLocaleString()}` : ''}
                  </TableCell>
                  <TableCell>
                    <Button size="small" aria-label={`Rotate secret of ${w.name}`} onClick={() => setRotating(w)}>
                      Rotate secret
                    </Button>{' '}
                    <Button size="small" aria-label={`Delete webhook ${w.name}`} onClick={() => void askDelete(w)}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}

      <form onSubmit={(e) => void create(e)} noValidate aria-labelledby="webhook-add-heading" className={forms.form}>
        <Text as="h3" id="webhook-add-heading" size={500} block>
          Add a subscription
        </Text>
        <Field label="Receiver URL" hint="https; its query is stored sealed and shown as ***." required validationMessage={problems.url}>
          <Input type="url" value={url} onChange={(_, d) => setUrl(d.value)} />
        </Field>
        <fieldset className={styles.events}>
          <legend>Events</legend>
          {WEBHOOK_EVENTS.map((ev) => (
            <Checkbox key={ev} label={ev} checked={events.includes(ev)} onChange={(_, d) => toggle(ev, d.checked === true)} />
          ))}
          {problems.events && (
            <Text as="p" role="alert">
              {problems.events}
            </Text>
          )}
        </fieldset>
        <Button type="submit" appearance="primary" disabled={busy} className={forms.submit}>
          {busy ? 'Creating…' : 'Create subscription'}
        </Button>
      </form>

      <Dialog open={rotating !== undefined} onOpenChange={(_, d) => !d.open && setRotating(undefined)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Rotate the signing secret of {rotating?.name}?</DialogTitle>
            <DialogContent>
              <p>credman issues a new secret, shown once. Receivers must get it before the previous one stops signing.</p>
              <Field label="Keep the previous secret signing for (hours)" hint={`0-${MAX_KEEP}; 0 stops it at once (a leaked secret).`}>
                <SpinButton min={0} max={MAX_KEEP} value={keepHours} onChange={(_, d) => setKeepHours(hours(d.value ?? Number(d.displayValue), keepHours))} />
              </Field>
            </DialogContent>
            <DialogActions>
              <Button appearance="primary" onClick={() => void rotate()}>
                Rotate
              </Button>
              <Button onClick={() => setRotating(undefined)}>Cancel</Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>

      <Dialog open={deleting !== undefined} onOpenChange={(_, d) => !d.open && setDeleting(undefined)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Delete webhook {deleting?.webhook.name}?</DialogTitle>
            <DialogContent>
              <p>{deleting?.webhook.properties.url} will get no more events.</p>
            </DialogContent>
            <DialogActions>
              <Button appearance="primary" onClick={() => void confirmDelete()}>
                Delete
              </Button>
              <Button onClick={() => setDeleting(undefined)}>Cancel</Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </section>
  );
}
