import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  Radio,
  RadioGroup,
  Spinner,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Textarea,
} from '@fluentui/react-components';
import { useState, type FormEvent } from 'react';
import type { AccessPolicyPut } from '../../shared/model/schemas';
import { IDENTIFIER_PATTERN } from '../../shared/model/constants';
import { all, alreadyExists, request, seg, type AccessPolicyResource } from './api';
import { ErrorMessage } from './ErrorMessage';
import { useFormStyles } from './forms';
import { useLoad } from './useLoad';

// Who may get a connection's tokens (POST …/token): its access policies, in words, added and
// deleted here (docs/api.md, "Access policies"). The form checks what it can before sending; the
// API stays the judge (its ValidationError is shown as it comes).

type Policy = AccessPolicyResource;
type Entra = { tenantId: string; objectId: string; appIds?: string[] };

/** 8-4-4-4-12 hex digits; the API's own check (RFC 9562 version and variant) has the last word. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isEntra = (p: Policy['properties']): p is Entra => 'tenantId' in p;

/** A policy in words. */
export function describePolicy(p: Policy['properties']): { who: string; limits: string } {
  if (isEntra(p)) {
    return {
      who: `The Entra user, group, service principal or managed identity with object id ${p.objectId} in tenant ${p.tenantId}`,
      limits: p.appIds?.length ? `Only through the client apps ${p.appIds.join(', ')}` : 'Through any client app',
    };
  }
  return { who: `The workload ${p.subject} of the issuer ${p.issuer}`, limits: 'Its own tokens from that issuer' };
}

type Kind = 'entra' | 'workload';
interface Form {
  policyId: string;
  kind: Kind;
  tenantId: string;
  objectId: string;
  appIds: string;
  issuer: string;
  subject: string;
}
const EMPTY: Form = { policyId: '', kind: 'entra', tenantId: '', objectId: '', appIds: '', issuer: '', subject: '' };
type Problems = Partial<Record<keyof Form, string>>;

const splitIds = (s: string) => s.split(/[\s,]+/).filter(Boolean);

function httpsUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'https:';
  } catch {
    return false;
  }
}

const DUPLICATE = 'This connection has a policy with this id already: choose another.';

/** The request body, or what is wrong with the form, field by field. */
function check(form: Form, existing: readonly Policy[]): { body: AccessPolicyPut } | { problems: Problems } {
  const problems: Problems = {};
  const id = form.policyId.trim();
  if (!IDENTIFIER_PATTERN.test(id)) problems.policyId = '1-80 letters, digits, ".", "_" or "-", starting and ending with a letter or digit.';
  else if (existing.some((p) => p.name === id)) problems.policyId = DUPLICATE;
  if (form.kind === 'entra') {
    if (!GUID.test(form.tenantId.trim())) problems.tenantId = 'A GUID, such as 72f988bf-86f1-41af-91ab-2d7cd011db47.';
    if (!GUID.test(form.objectId.trim())) problems.objectId = 'A GUID: the object id of the user, group or service principal.';
    const appIds = splitIds(form.appIds);
    const bad = appIds.filter((a) => !GUID.test(a));
    if (bad.length) problems.appIds = `Not a GUID: ${bad.join(', ')}`;
    else if (appIds.length > 50) problems.appIds = 'At most 50 client apps.';
    if (Object.keys(problems).length) return { problems };
    return { body: { properties: { tenantId: form.tenantId.trim(), objectId: form.objectId.trim(), ...(appIds.length ? { appIds } : {}) } } };
  }
  const issuer = form.issuer.trim();
  if (!httpsUrl(issuer) || issuer.length > 400) problems.issuer = 'The issuer URL, https (as in its tokens’ iss claim); at most 400 characters.';
  const subject = form.subject.trim();
  if (!subject || subject.length > 400) problems.subject = 'The workload’s sub claim: 1-400 characters.';
  if (Object.keys(problems).length) return { problems };
  return { body: { properties: { issuer, subject } } };
}

export function AccessPoliciesSection({ token, providerId, connectionId }: { token: string; providerId: string; connectionId: string }) {
  const forms = useFormStyles();
  const base = `providers/${seg(providerId)}/connections/${seg(connectionId)}/accessPolicies`;
  const [version, setVersion] = useState(0);
  const policies = useLoad(`policies:${providerId}:${connectionId}:${token}:${version}`, () => all<Policy>(token, base));
  const reload = () => setVersion((v) => v + 1);

  const [form, setForm] = useState<Form>(EMPTY);
  const [problems, setProblems] = useState<Problems>({});
  const [saving, setSaving] = useState(false);
  const [failure, setFailure] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  // The policy being deleted, as read with its ETag when the confirmation opened.
  const [deleting, setDeleting] = useState<{ policy: Policy; etag?: string }>();

  const set = (field: keyof Form) => (_: unknown, data: { value: string }) => setForm((f) => ({ ...f, [field]: data.value }));

  async function add(e: FormEvent) {
    e.preventDefault();
    setSaved(undefined);
    setFailure(undefined);
    const checked = check(form, policies.kind === 'done' ? policies.value : []);
    if ('problems' in checked) {
      setProblems(checked.problems);
      return;
    }
    setProblems({});
    setSaving(true);
    try {
      const id = form.policyId.trim();
      // Create only: the list may be stale; a policy added meanwhile under this id is never replaced.
      await request(token, 'PUT', `${base}/${seg(id)}`, { body: checked.body, createOnly: true });
      setSaved(id);
      setForm(EMPTY);
      reload();
    } catch (err) {
      if (alreadyExists(err)) {
        setProblems({ policyId: DUPLICATE });
        reload();
        return;
      }
      setFailure(err);
    } finally {
      setSaving(false);
    }
  }

  async function askDelete(p: Policy) {
    setFailure(undefined);
    setSaved(undefined);
    try {
      const fresh = await request<Policy>(token, 'GET', `${base}/${seg(p.name)}`);
      setDeleting({ policy: fresh.body, ...(fresh.etag ? { etag: fresh.etag } : {}) });
    } catch (err) {
      setFailure(err);
      reload();
    }
  }

  async function confirmDelete() {
    if (!deleting) return;
    const { policy, etag } = deleting;
    setDeleting(undefined);
    try {
      // Conditional on the policy as the confirmation showed it: a change since then is a 412, not a silent delete.
      await request(token, 'DELETE', `${base}/${seg(policy.name)}`, etag ? { ifMatch: etag } : {});
    } catch (err) {
      setFailure(err);
    }
    reload();
  }

  const headingId = `policies-heading-${connectionId}`;
  return (
    <section aria-labelledby={headingId}>
      <Text as="h3" id={headingId} size={500} block>
        Access policies
      </Text>
      <p>Who may get this connection&rsquo;s access tokens (POST &hellip;/token). Anyone else is refused.</p>
      {policies.kind === 'loading' && <Spinner label="Loading access policies…" />}
      {policies.kind === 'failed' && <ErrorMessage error={policies.error} />}
      {policies.kind === 'done' && policies.value.length === 0 && <p>No access policy: no app or person can get this connection&rsquo;s tokens yet.</p>}
      {policies.kind === 'done' && policies.value.length > 0 && (
        <Table aria-labelledby={headingId}>
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Policy</TableHeaderCell>
              <TableHeaderCell>Who</TableHeaderCell>
              <TableHeaderCell>Limits</TableHeaderCell>
              <TableHeaderCell>Actions</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {policies.value.map((p) => {
              const words = describePolicy(p.properties);
              return (
                <TableRow key={p.id}>
                  <TableCell className={forms.cell}>{p.name}</TableCell>
                  <TableCell className={forms.cell}>{words.who}</TableCell>
                  <TableCell className={forms.cell}>{words.limits}</TableCell>
                  <TableCell>
                    <Button size="small" aria-label={`Delete access policy ${p.name}`} onClick={() => void askDelete(p)}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
      {failure !== undefined && <ErrorMessage error={failure} />}
      {saved && (
        <MessageBar intent="success">
          <MessageBarBody>Access policy {saved} added.</MessageBarBody>
        </MessageBar>
      )}

      <form onSubmit={(e) => void add(e)} noValidate aria-labelledby={`${headingId}-add`} className={forms.form}>
        <Text as="h4" id={`${headingId}-add`} size={400} weight="semibold" block>
          Add an access policy
        </Text>
        <Field label="Policy id" hint="Names the policy in the API, such as billing-worker." required validationMessage={problems.policyId}>
          <Input value={form.policyId} onChange={set('policyId')} />
        </Field>
        <Field label="Who may get tokens">
          <RadioGroup value={form.kind} onChange={(_, data) => setForm((f) => ({ ...f, kind: data.value as Kind }))}>
            <Radio value="entra" label="A person, group or app of Entra ID (tenant and object id)" />
            <Radio value="workload" label="A workload of another OpenID issuer (issuer and subject)" />
          </RadioGroup>
        </Field>
        {form.kind === 'entra' ? (
          <>
            <Field label="Tenant id" required validationMessage={problems.tenantId}>
              <Input value={form.tenantId} onChange={set('tenantId')} />
            </Field>
            <Field label="Object id" hint="Of the user, group, service principal or managed identity." required validationMessage={problems.objectId}>
              <Input value={form.objectId} onChange={set('objectId')} />
            </Field>
            <Field label="Client app ids" hint="Optional: only these client apps (GUIDs, separated by spaces or commas) may fetch the tokens; empty: any." validationMessage={problems.appIds}>
              <Textarea value={form.appIds} onChange={set('appIds')} resize="vertical" />
            </Field>
          </>
        ) : (
          <>
            <Field label="Issuer" hint="https URL, as in the workload's tokens; the issuer must be trusted (CREDMAN_AUTH_ISSUERS)." required validationMessage={problems.issuer}>
              <Input type="url" value={form.issuer} onChange={set('issuer')} />
            </Field>
            <Field label="Subject" hint="The sub claim of the workload's tokens." required validationMessage={problems.subject}>
              <Input value={form.subject} onChange={set('subject')} />
            </Field>
          </>
        )}
        <Button type="submit" appearance="primary" disabled={saving} className={forms.submit}>
          {saving ? 'Adding…' : 'Add access policy'}
        </Button>
      </form>

      <Dialog open={deleting !== undefined} onOpenChange={(_, data) => !data.open && setDeleting(undefined)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Delete access policy {deleting?.policy.name}?</DialogTitle>
            <DialogContent>
              {deleting && <p>{describePolicy(deleting.policy.properties).who} will no longer get this connection&rsquo;s tokens (within the policy cache&rsquo;s seconds on other instances).</p>}
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
