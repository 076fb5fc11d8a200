import {
  Button,
  Field,
  Input,
  Link,
  Radio,
  RadioGroup,
  SearchBox,
  Spinner,
  Switch,
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
import { IDENTIFIER_RULE } from '../../shared/model/constants';
import { request, seg, type Provider } from './api';
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

// The catalogue of identity providers (GET /identityProviders) and, for the template and grant
// type chosen, a provider form generated from the template's parameters: labels, hints, required
// marks, secrets as password fields (never prefilled: the API never returns them), defaults, and
// the API's own value rules (shared/oauth/parameterValue.ts) checked before anything is sent.

/** The API's shape rules for `apiBaseUrl` (shared/model/schemas.ts); https and the destination guard are the API's to judge (it may allow http on private networks). */
function apiBaseUrlProblem(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an https URL';
  if (u.username || u.password) return 'must not carry credentials';
  if (/[?#]/.test(value)) return 'must have no query or fragment';
  return undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function ProviderForm({ token, template }: { token: string; template: IdentityProvider }) {
  const styles = useFormStyles();
  const navigate = useNavigate();
  const grants = Object.keys(template.properties.grantTypes) as GrantType[];
  const [grant, setGrant] = useState<GrantType>(grants[0]);
  const [id, setId] = useState('');
  const [displayName, setDisplayName] = useState(template.properties.displayName);
  // Defaults prefilled; secrets never (a secret has no default, and nothing stored is shown).
  const defaults = (g: GrantType) => Object.fromEntries(template.properties.grantTypes[g].parameters.filter((p) => p.default !== undefined && !p.secret).map((p) => [p.name, p.default!]));
  const [values, setValues] = useState<Record<string, string>>(() => defaults(grants[0]));
  const [selfService, setSelfService] = useState(false);
  const [appIds, setAppIds] = useState('');
  const [apiBaseUrl, setApiBaseUrl] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Failure>();
  const [busy, setBusy] = useState(false);
  const params = template.properties.grantTypes[grant].parameters;

  const fieldOf = (target: string): string | undefined => {
    const prefix = `properties.oauth2.grantTypes.${grant}.`;
    if (target.startsWith(prefix)) return target.slice(prefix.length);
    if (target.startsWith('properties.selfService')) return 'selfService';
    if (target === 'properties.displayName') return 'displayName';
    if (target.startsWith('properties.apiBaseUrl')) return 'apiBaseUrl';
    return undefined;
  };

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFailure(undefined);
    const checked = checkParameters(params, values);
    const found: FieldErrors = { ...checked.errors };
    const idProblem = checkId(id);
    if (idProblem) found.id = idProblem;
    if (displayName.length > 200) found.displayName = 'The display name may have at most 200 characters.';
    const apiProblem = apiBaseUrl.trim() ? apiBaseUrlProblem(apiBaseUrl.trim()) : undefined;
    if (apiProblem) found.apiBaseUrl = `The API base URL ${apiProblem}.`;
    const ids = appIds.split(/[\s,]+/).filter(Boolean);
    if (selfService && ids.some((a) => !GUID.test(a))) found.selfService = 'Application ids are GUIDs, separated by spaces or commas.';
    setErrors(found);
    if (Object.keys(found).length) return;
    setBusy(true);
    try {
      const body = {
        properties: {
          ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
          identityProvider: template.name,
          ...(selfService ? { selfService: { enabled: true, ...(ids.length ? { appIds: ids } : {}) } } : {}),
          ...(apiBaseUrl.trim() ? { apiBaseUrl: apiBaseUrl.trim() } : {}),
          oauth2: { grantTypes: { [grant]: checked.values } },
        },
      };
      // Create only: a new provider never overwrites one that has this id (412).
      await request<Provider>(token, 'PUT', `providers/${seg(id)}`, { body, createOnly: true });
      navigate(href.provider(id));
    } catch (err) {
      const refused = createFailure(err, fieldOf, { field: 'id', message: `A provider '${id}' exists already: choose another id, or change that provider.` });
      setErrors(refused.fields);
      setFailure(refused.failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className={styles.form} onSubmit={(e) => void submit(e)} noValidate aria-labelledby="provider-form-heading">
      <Text as="h3" id="provider-form-heading" size={500} block>
        New provider from {template.properties.displayName}
      </Text>
      {template.properties.documentationUrl && (
        <Text>
          How to register an OAuth client there:{' '}
          <Link href={template.properties.documentationUrl} target="_blank" rel="noopener noreferrer">
            {template.properties.displayName} documentation
          </Link>
          .
        </Text>
      )}
      {grants.length > 1 && (
        <Field label="Grant type" required>
          <RadioGroup
            value={grant}
            onChange={(_, d) => {
              setGrant(d.value as GrantType);
              setValues(defaults(d.value as GrantType));
              setErrors({});
            }}
          >
            {grants.map((g) => (
              <Radio key={g} value={g} label={GRANT_LABEL[g] ?? g} />
            ))}
          </RadioGroup>
        </Field>
      )}
      <Field label="Provider id" hint={`Part of every URL of the provider: ${IDENTIFIER_RULE}.`} required validationMessage={errors.id} validationState={errors.id ? 'error' : 'none'}>
        <Input name="id" value={id} onChange={(_, d) => setId(d.value)} autoComplete="off" />
      </Field>
      <Field label="Display name" validationMessage={errors.displayName} validationState={errors.displayName ? 'error' : 'none'}>
        <Input name="displayName" value={displayName} onChange={(_, d) => setDisplayName(d.value)} autoComplete="off" />
      </Field>
      {params.map((p) => (
        <ParameterField key={`${grant}.${p.name}`} p={p} value={values[p.name] ?? ''} error={errors[p.name]} onChange={(v) => setValues({ ...values, [p.name]: v })} />
      ))}
      <Field
        label="API base URL"
        hint={`The API root credman's token proxy calls for this provider (https). Empty: ${template.properties.apiBaseUrl ?? 'none, the proxy is not offered'}.`}
        validationMessage={errors.apiBaseUrl}
        validationState={errors.apiBaseUrl ? 'error' : 'none'}
      >
        <Input name="apiBaseUrl" type="url" value={apiBaseUrl} placeholder={template.properties.apiBaseUrl} onChange={(_, d) => setApiBaseUrl(d.value)} autoComplete="off" />
      </Field>
      <Field
        label="Self-service"
        hint="Signed-in people may create and consent their own connection under this provider (needs the authorization-code grant)."
        validationMessage={errors.selfService}
        validationState={errors.selfService ? 'error' : 'none'}
      >
        <Switch checked={selfService} onChange={(_, d) => setSelfService(d.checked)} label={selfService ? 'Offered to signed-in people' : 'Off'} />
      </Field>
      {selfService && (
        <Field label="Allowed application ids" hint="The client applications that may fetch these people's tokens (GUIDs); empty: any application of theirs.">
          <Textarea name="appIds" value={appIds} onChange={(_, d) => setAppIds(d.value)} />
        </Field>
      )}
      {failure && <ApiProblem error={failure.error} rest={failure.rest} />}
      <div className={styles.actions}>
        <Button appearance="primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create provider'}
        </Button>
      </div>
    </form>
  );
}

export function CataloguePage({ token }: { token: string }) {
  const styles = useFormStyles();
  const templates = useLoad(`identityProviders:${token}`, () => listIdentityProviders(token));
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState<IdentityProvider>();
  const needle = search.trim().toLowerCase();
  return (
    <section aria-labelledby="catalogue-heading">
      <nav aria-label="Breadcrumb">
        <NavLink to={href.providers()}>Providers</NavLink>
      </nav>
      <Text as="h2" id="catalogue-heading" size={600} block>
        New provider
      </Text>
      {templates.kind === 'loading' && <Spinner label="Loading the catalogue…" />}
      {templates.kind === 'failed' && <ErrorMessage error={templates.error} />}
      {templates.kind === 'done' && chosen && (
        <>
          <Button onClick={() => setChosen(undefined)}>Choose another identity provider</Button>
          <ProviderForm key={chosen.name} token={token} template={chosen} />
        </>
      )}
      {templates.kind === 'done' && !chosen && (
        <>
          <p>Choose the identity provider to connect to. Each comes with the settings it needs; the generic ones fit any OAuth 2.0 server.</p>
          <Field label="Search identity providers">
            <SearchBox value={search} onChange={(_, d) => setSearch(d.value)} />
          </Field>
          <div className={styles.list}>
            <Table aria-label="Identity providers">
              <TableHeader>
                <TableRow>
                  <TableHeaderCell>Identity provider</TableHeaderCell>
                  <TableHeaderCell>Grant types</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {templates.value
                  .filter((t) => !needle || t.properties.displayName.toLowerCase().includes(needle) || t.name.toLowerCase().includes(needle))
                  .map((t) => (
                    <TableRow key={t.name}>
                      <TableCell>
                        <Button appearance="transparent" onClick={() => setChosen(t)}>
                          {t.properties.displayName}
                        </Button>
                      </TableCell>
                      <TableCell>
                        {Object.keys(t.properties.grantTypes)
                          .map((g) => (g === 'authorizationCode' ? 'Authorization code' : g === 'clientCredentials' ? 'Client credentials' : g))
                          .join(', ')}
                      </TableCell>
                    </TableRow>
                  ))}
              </TableBody>
            </Table>
          </div>
        </>
      )}
    </section>
  );
}
