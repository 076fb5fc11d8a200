import { Field, Input, makeStyles, tokens } from '@fluentui/react-components';
import type { z } from 'zod';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE } from '../../shared/model/constants';
import type { identityProviderSchema } from '../../shared/model/schemas';
import type { GrantType } from '../../shared/oauth/template';
import { parameterValueProblem } from '../../shared/oauth/parameterValue';
import { alreadyExists, ApiError, get } from './api';
import { ErrorMessage } from './ErrorMessage';

// What the console's forms share: the layout, a field generated from a template parameter and the
// API's value rules for it, and an API refusal split into the fields its details name and the rest.

export type IdentityProvider = z.infer<typeof identityProviderSchema>;
export type Parameter = IdentityProvider['properties']['grantTypes'][string]['parameters'][number];
export type { GrantType };

export const GRANT_LABEL: Record<string, string> = {
  authorizationCode: 'Authorization code (a person signs in)',
  clientCredentials: 'Client credentials (the app signs in as itself)',
};

export const listIdentityProviders = (token: string) => get<{ value: IdentityProvider[] }>(token, 'identityProviders').then((r) => r.value);

export const useFormStyles = makeStyles({
  form: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM, maxWidth: '40rem', marginTop: tokens.spacingVerticalM },
  actions: { display: 'flex', gap: tokens.spacingHorizontalM, marginTop: tokens.spacingVerticalS },
  list: { maxHeight: '24rem', overflowY: 'auto', marginTop: tokens.spacingVerticalS },
  submit: { alignSelf: 'flex-start' },
  // Ids, GUIDs and URLs are long words: they wrap in their cell rather than run into the next.
  cell: { wordBreak: 'break-word' },
});

/** Field errors by field name; `''` would be no error, so absent means fine. */
export type FieldErrors = Record<string, string>;

/** One generated field for a template parameter. Secret ones are password fields that show nothing stored. */
export function ParameterField({ p, value, error, optional, onChange }: { p: Parameter; value: string; error?: string; optional?: boolean; onChange: (v: string) => void }) {
  const required = p.required && !optional;
  const hint = p.default !== undefined ? `${p.description} Default: ${p.default}.` : p.description;
  return (
    <Field label={p.displayName} hint={hint} required={required} validationMessage={error} validationState={error ? 'error' : 'none'}>
      <Input
        name={p.name}
        value={value}
        type={p.secret ? 'password' : p.kind === 'url' ? 'url' : p.kind === 'date' ? 'date' : 'text'}
        autoComplete={p.secret ? 'new-password' : 'off'}
        onChange={(_, d) => onChange(d.value)}
      />
    </Field>
  );
}

/**
 * The values to send for one grant type, or the problems found: each non-empty value must meet the
 * API's rules, a required one without default must be given. Empty fields are left out (the API
 * fills defaults). `optional` (a connection's overrides): nothing is required.
 */
export function checkParameters(params: Parameter[], values: Record<string, string>, optional = false): { values: Record<string, string>; errors: FieldErrors } {
  const out: Record<string, string> = {};
  const errors: FieldErrors = {};
  for (const p of params) {
    const v = values[p.name] ?? '';
    if (v === '') {
      if (p.required && p.default === undefined && !optional) errors[p.name] = `${p.displayName} is required.`;
      continue;
    }
    const problem = parameterValueProblem(p, v);
    if (problem) errors[p.name] = `${p.displayName} ${problem}.`;
    else out[p.name] = v;
  }
  return { values: out, errors };
}

export function checkId(id: string): string | undefined {
  return IDENTIFIER_PATTERN.test(id) ? undefined : `The id must be ${IDENTIFIER_RULE}.`;
}

/**
 * The API's field-level problems (`details[].target`, e.g. `properties.oauth2.grantTypes.authorizationCode.tokenUrl`)
 * as field errors, through `fieldOf` (target → field name); the others stay with the error message.
 */
export function fieldErrorsOf(error: unknown, fieldOf: (target: string) => string | undefined): { fields: FieldErrors; rest: ApiError['details'] } {
  const fields: FieldErrors = {};
  const rest: ApiError['details'] = [];
  if (!(error instanceof ApiError)) return { fields, rest };
  for (const d of error.details) {
    const field = d.target === undefined ? undefined : fieldOf(d.target);
    if (field) fields[field] = fields[field] ? `${fields[field]} ${d.message}` : d.message;
    else rest.push(d);
  }
  return { fields, rest };
}

/** The API's answer and the details no field took. */
export function ApiProblem({ error, rest }: { error: unknown; rest: ApiError['details'] }) {
  return (
    <div role="alert">
      <ErrorMessage error={error} />
      {rest.length > 0 && (
        <ul>
          {rest.map((d, i) => (
            <li key={i}>
              <code>{d.code}</code>
              {d.target ? ` (${d.target})` : ''}: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A refused write as a form shows it: field messages, and the API's problem with the details no field took. */
export interface Failure {
  error: unknown;
  rest: ApiError['details'];
}

/**
 * A create-only write's refusal, for a form: an id taken (412) at the id field; otherwise each
 * detail at the field its target names (`fieldOf`) and the rest as the API's problem.
 */
export function createFailure(err: unknown, fieldOf: (target: string) => string | undefined, taken: { field: string; message: string }): { fields: FieldErrors; failure?: Failure } {
  if (alreadyExists(err)) return { fields: { [taken.field]: taken.message } };
  const { fields, rest } = fieldErrorsOf(err, fieldOf);
  return { fields, failure: { error: err, rest } };
}
