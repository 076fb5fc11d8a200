import {
  Accordion,
  AccordionHeader,
  AccordionItem,
  AccordionPanel,
  Badge,
  Button,
  Field,
  Input,
  makeStyles,
  Select,
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
import { useState, type FormEvent } from 'react';
import { IDENTIFIER_RULE } from '../../shared/model/constants';
import { get, listConnections, request, seg, type Connection, type Provider } from './api';
import {
  ApiProblem,
  checkId,
  checkParameters,
  createFailure,
  GRANT_LABEL,
  listIdentityProviders,
  ParameterField,
  useFormStyles,
  type Failure,
  type FieldErrors,
  type GrantType,
  type IdentityProvider,
} from './forms';
import { ErrorMessage } from './ErrorMessage';
import { NavLink, useNavigate } from './navigation';
import { href } from './router';
import { useLoad } from './useLoad';

// A provider: what it is (its template, redirect URL to register, grant types' non-secret values,
// self-service), its connections (broken first, then the soonest to expire), and a form for a new one.

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/** A date for people: local date and time, and how far away. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const delta = t - Date.now();
  const [unit, ms] = UNITS.find(([, ms]) => Math.abs(delta) >= ms) ?? UNITS[UNITS.length - 1];
  return `${new Date(t).toLocaleString()} (${relative.format(Math.round(delta / ms), unit)})`;
}

/** A connection's status in plain words. */
export function describeStatus(c: Connection): { label: string; detail: string; color: 'success' | 'warning' | 'danger' } {
  switch (c.properties.status) {
    case 'Connected':
      return { label: 'Connected', detail: 'Working: apps with an access policy can get tokens.', color: 'success' };
    case 'Pending':
      return { label: 'Waiting for sign-in', detail: 'Nobody has signed in to this connection yet: send its login link to the account owner.', color: 'warning' };
    default:
      return {
        label: 'Needs attention',
        detail: c.properties.error ? `${c.properties.error.code}: ${c.properties.error.message}` : 'Apps cannot get tokens; sign in again.',
        color: 'danger',
      };
  }
}

/** Whose account it is: the connect session's end user, the self-service owner, or nobody said. */
export function accountOf(c: Connection): string {
  const { endUser, owner } = c.properties;
  if (endUser) return [endUser.displayName, endUser.email && `<${endUser.email}>`, `(end user ${endUser.id})`].filter(Boolean).join(' ');
  if (owner) return `${owner.displayName ?? owner.objectId ?? owner.subject ?? 'a person'} (self-service)`;
  return '—';
}

/** The first moment something of the connection ends: its token or its refresh token. */
const endOf = (c: Connection): number => {
  const p = c.properties;
  const times = [p.expiresOn, p.refreshTokenExpiresOn].filter((t): t is string => !!t).map(Date.parse);
  return times.length ? Math.min(...times) : Infinity;
};

/** Broken ones first, then the soonest to expire, then the rest by name. */
export function sortConnections(cs: Connection[]): Connection[] {
  const rank = (c: Connection) => (c.properties.status === 'Error' ? 0 : endOf(c) < Infinity ? 1 : 2);
  return [...cs].sort((a, b) => rank(a) - rank(b) || endOf(a) - endOf(b) || a.name.localeCompare(b.name));
}

const useStyles = makeStyles({
  summary: { display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: tokens.spacingHorizontalL, rowGap: tokens.spacingVerticalXS, margin: `${tokens.spacingVerticalM} 0` },
  term: { fontWeight: tokens.fontWeightSemibold },
  pair: { display: 'contents' },
  copy: { maxWidth: '48rem' },
  section: { marginTop: tokens.spacingVerticalXL },
});

/** A read-only value with a Copy button (navigator.clipboard). */
export function CopyField({ label, value, hint }: { label: string; value: string; hint?: string }) {
  const styles = useStyles();
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = () =>
    void navigator.clipboard.writeText(value).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  return (
    <Field
      label={label}
      hint={hint}
      className={styles.copy}
      validationMessage={copied === 'failed' ? 'The browser did not allow copying: select the text instead.' : undefined}
      validationState={copied === 'failed' ? 'warning' : 'none'}
    >
      <Input
        readOnly
        value={value}
        contentAfter={
          <Button appearance="transparent" size="small" onClick={copy}>
            {copied === 'yes' ? 'Copied' : 'Copy'}
          </Button>
        }
      />
    </Field>
  );
}

function Summary({ provider, template }: { provider: Provider; template?: IdentityProvider }) {
  const styles = useStyles();
  const p = provider.properties;
  const grants = Object.entries(p.oauth2.grantTypes).filter((e): e is [string, Record<string, string>] => !!e[1]);
  return (
    <>
      <CopyField label="Redirect URL" value={p.oauth2.redirectUrl} hint="Register this callback (redirect URI) for the OAuth client at the identity provider." />
      <dl className={styles.summary}>
        <dt className={styles.term}>Identity provider</dt>
        <dd>{template?.properties.displayName ?? p.identityProvider}</dd>
        <dt className={styles.term}>API base URL</dt>
        <dd>{p.apiBaseUrl ?? (template?.properties.apiBaseUrl ? `${template.properties.apiBaseUrl} (the template's)` : 'None')}</dd>
        <dt className={styles.term}>Self-service</dt>
        <dd>
          {p.selfService?.enabled
            ? `Offered: signed-in people create their own connection${p.selfService.appIds?.length ? ` (for the apps ${p.selfService.appIds.join(', ')})` : ' (for any app of theirs)'}`
            : 'Off'}
        </dd>
        <dt className={styles.term}>Changed</dt>
        <dd>{when(p.changedOn)}</dd>
        {grants.map(([g, values]) => {
          // The API never returns secrets; what a template marks secret is skipped here too.
          const params = template?.properties.grantTypes[g]?.parameters ?? [];
          const shown = Object.entries(values).filter(([k]) => !params.find((x) => x.name === k)?.secret);
          return (
            <div key={g} className={styles.pair}>
              <dt className={styles.term}>{GRANT_LABEL[g] ?? g}</dt>
              <dd>
                <dl className={styles.summary}>
                  {shown.map(([k, v]) => (
                    <div key={k} className={styles.pair}>
                      <dt>{params.find((x) => x.name === k)?.displayName ?? k}</dt>
                      <dd>
                        <code>{v}</code>
                      </dd>
                    </div>
                  ))}
                </dl>
              </dd>
            </div>
          );
        })}
      </dl>
    </>
  );
}

function ConnectionsTable({ providerId, connections }: { providerId: string; connections: Connection[] }) {
  if (connections.length === 0) return <p>This provider has no connection yet.</p>;
  return (
    <Table aria-labelledby="connections-heading">
      <TableHeader>
        <TableRow>
          <TableHeaderCell>Connection</TableHeaderCell>
          <TableHeaderCell>Status</TableHeaderCell>
          <TableHeaderCell>Token expires</TableHeaderCell>
          <TableHeaderCell>Refresh token ends</TableHeaderCell>
          <TableHeaderCell>Last refresh</TableHeaderCell>
          <TableHeaderCell>Account</TableHeaderCell>
        </TableRow>
      </TableHeader>
      <TableBody>
        {sortConnections(connections).map((c) => {
          const status = describeStatus(c);
          const p = c.properties;
          return (
            <TableRow key={c.id}>
              <TableCell>
                <NavLink to={href.connection(providerId, c.name)}>{p.displayName ?? c.name}</NavLink> ({c.name})
              </TableCell>
              <TableCell>
                <Badge appearance="tint" color={status.color}>
                  {status.label}
                </Badge>
                {p.error && (
                  <div>
                    <code>{p.error.code}</code>: {p.error.message}
                  </div>
                )}
              </TableCell>
              <TableCell>{when(p.expiresOn)}</TableCell>
              <TableCell>{when(p.refreshTokenExpiresOn)}</TableCell>
              <TableCell>{when(p.lastRefreshedOn)}</TableCell>
              <TableCell>{accountOf(c)}</TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

const CONNECTION_GRANT: Record<GrantType, 'AuthorizationCode' | 'ClientCredentials'> = { authorizationCode: 'AuthorizationCode', clientCredentials: 'ClientCredentials' };

function NewConnectionForm({ token, provider, template }: { token: string; provider: Provider; template?: IdentityProvider }) {
  const styles = useFormStyles();
  const navigate = useNavigate();
  const grants = (Object.keys(provider.properties.oauth2.grantTypes) as GrantType[]).filter((g) => provider.properties.oauth2.grantTypes[g]);
  const [grant, setGrant] = useState<GrantType>(grants[0]);
  const [id, setId] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Failure>();
  const [busy, setBusy] = useState(false);
  const params = template?.properties.grantTypes[grant]?.parameters ?? [];
  const providerId = provider.name;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFailure(undefined);
    const checked = checkParameters(params, values, true);
    const found: FieldErrors = { ...checked.errors };
    const idProblem = checkId(id);
    if (idProblem) found.connectionId = idProblem;
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      const body = {
        properties: {
          ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
          authorizationType: 'OAuth2',
          oauth2grantType: CONNECTION_GRANT[grant],
          ...(Object.keys(checked.values).length ? { parameters: checked.values } : {}),
        },
      };
      // Create only: never replaces a connection that has this id (412).
      await request<Connection>(token, 'PUT', `providers/${seg(providerId)}/connections/${seg(id)}`, { body, createOnly: true });
      navigate(href.connection(providerId, id));
    } catch (err) {
      const fieldOf = (t: string) => (t.startsWith('properties.parameters.') ? t.slice('properties.parameters.'.length) : t === 'properties.displayName' ? 'connectionDisplayName' : undefined);
      const refused = createFailure(err, fieldOf, { field: 'connectionId', message: `A connection '${id}' exists already.` });
      setErrors(refused.fields);
      setFailure(refused.failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className={styles.form} onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-connection-heading">
      <Text as="h3" id="new-connection-heading" size={500} block>
        New connection
      </Text>
      <Field label="Connection id" hint={IDENTIFIER_RULE} required validationMessage={errors.connectionId} validationState={errors.connectionId ? 'error' : 'none'}>
        <Input name="connectionId" value={id} onChange={(_, d) => setId(d.value)} autoComplete="off" />
      </Field>
      <Field label="Connection display name" validationMessage={errors.connectionDisplayName} validationState={errors.connectionDisplayName ? 'error' : 'none'}>
        <Input name="connectionDisplayName" value={displayName} onChange={(_, d) => setDisplayName(d.value)} autoComplete="off" />
      </Field>
      <Field label="Grant type" required>
        <Select
          value={grant}
          onChange={(_, d) => {
            setGrant(d.value as GrantType);
            setValues({});
          }}
        >
          {grants.map((g) => (
            <option key={g} value={g}>
              {GRANT_LABEL[g] ?? g}
            </option>
          ))}
        </Select>
      </Field>
      {params.length > 0 && (
        <Accordion collapsible>
          <AccordionItem value="parameters">
            <AccordionHeader>Connection parameters (optional: each replaces the provider&apos;s value for this connection)</AccordionHeader>
            <AccordionPanel>
              {params.map((p) => (
                <ParameterField key={`${grant}.${p.name}`} p={p} optional value={values[p.name] ?? ''} error={errors[p.name]} onChange={(v) => setValues({ ...values, [p.name]: v })} />
              ))}
            </AccordionPanel>
          </AccordionItem>
        </Accordion>
      )}
      {failure && <ApiProblem error={failure.error} rest={failure.rest} />}
      <div className={styles.actions}>
        <Button appearance="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create connection'}
        </Button>
      </div>
    </form>
  );
}

export function ProviderPage({ token, providerId }: { token: string; providerId: string }) {
  const styles = useStyles();
  const key = `${providerId}:${token}`;
  const provider = useLoad(`provider:${key}`, () => get<Provider>(token, `providers/${seg(providerId)}`));
  const templates = useLoad(`identityProviders:${token}`, () => listIdentityProviders(token));
  const connections = useLoad(`connections:${key}`, () => listConnections(token, providerId));
  const template = templates.kind === 'done' && provider.kind === 'done' ? templates.value.find((t) => t.name === provider.value.properties.identityProvider) : undefined;
  return (
    <section aria-labelledby="provider-heading">
      <nav aria-label="Breadcrumb">
        <NavLink to={href.providers()}>Providers</NavLink>
      </nav>
      <Text as="h2" id="provider-heading" size={600} block>
        {provider.kind === 'done' ? (provider.value.properties.displayName ?? providerId) : providerId} ({providerId})
      </Text>
      {provider.kind === 'loading' && <Spinner label="Loading the provider…" />}
      {provider.kind === 'failed' && <ErrorMessage error={provider.error} />}
      {provider.kind === 'done' && <Summary provider={provider.value} template={template} />}
      <section aria-labelledby="connections-heading" className={styles.section}>
        <Text as="h3" id="connections-heading" size={500} block>
          Connections
        </Text>
        {connections.kind === 'loading' && <Spinner label="Loading connections…" />}
        {connections.kind === 'failed' && <ErrorMessage error={connections.error} />}
        {connections.kind === 'done' && <ConnectionsTable providerId={providerId} connections={connections.value} />}
      </section>
      {provider.kind === 'done' && templates.kind !== 'loading' && <NewConnectionForm token={token} provider={provider.value} template={template} />}
    </section>
  );
}
