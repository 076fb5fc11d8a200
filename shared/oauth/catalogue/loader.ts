import { z } from 'zod';
import { placeholdersOf } from '../endpoints';
import type { GrantType, ProviderTemplate, TemplateParameter } from '../template';

// Checks every template when the module loads, so that a broken template stops start-up with an
// error naming it instead of failing on the first consent. The shape is checked by zod; the rules
// that tie fields together (placeholders, reserved parameters, https) by `crossCheck`.

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const compiles = (pattern: string) => {
  try {
    new RegExp(`^(?:${pattern})$`, 'u');
    return true;
  } catch {
    return false;
  }
};

const parameterSchema = z.strictObject({
  name: z.string().regex(NAME),
  displayName: z.string().min(1),
  kind: z.enum(['string', 'url', 'scopes', 'date']),
  required: z.boolean(),
  secret: z.boolean(),
  default: z.string().min(1).optional(),
  pattern: z.string().min(1).refine(compiles, 'is not a valid regular expression').optional(),
  description: z.string().min(1),
});

const stringMap = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.string());
const seconds = z.number().int().positive();

const templateSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'must match ^[a-z0-9][a-z0-9.-]*$'),
  displayName: z.string().min(1),
  documentationUrl: z.url({ protocol: /^https$/ }).optional(),
  grantTypes: z.strictObject({
    authorizationCode: z.strictObject({ parameters: z.array(parameterSchema) }).optional(),
    clientCredentials: z.strictObject({ parameters: z.array(parameterSchema) }).optional(),
  }),
  endpoints: z.strictObject({ authorizationUrl: z.string().min(1).optional(), tokenUrl: z.string().min(1), refreshUrl: z.string().min(1).optional() }),
  clientAuthentication: z.enum(['basic', 'body']),
  clientAuthenticationParameter: z.string().regex(NAME).optional(),
  tokenRequestFormat: z.enum(['form', 'json']).optional(),
  scopeInTokenRequests: z.boolean().optional(),
  scopeSeparator: z.enum([' ', ',']),
  scopeParameter: z
    .string()
    .regex(/^[a-z_]+$/)
    .optional(),
  pkce: z.enum(['S256', 'none']),
  authorizeParameters: stringMap.optional(),
  tokenParameters: stringMap.optional(),
  refreshToken: z.strictObject({
    issued: z.boolean(),
    rotates: z.boolean(),
    idleLifetimeSeconds: seconds.optional(),
    absoluteLifetimeSeconds: seconds.optional(),
  }),
  tokenResponse: z.strictObject({
    format: z.enum(['json', 'form']),
    tokenPath: z
      .string()
      .regex(/^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$/)
      .optional(),
    okFlag: z.boolean().optional(),
    defaultExpiresInSeconds: seconds.optional(),
    tokenType: z.string().min(1).optional(),
    errorField: z.string().regex(NAME).optional(),
    errorCodes: z.record(z.string(), z.string().min(1)).optional(),
  }),
  dynamicRegistration: z.boolean().optional(),
  derivedParameters: z.array(z.string().regex(NAME)).optional(),
  apiBaseUrl: z
    .url({ protocol: /^https$/ })
    .refine((u) => !/[?#]/.test(u) && !u.endsWith('/'), 'must have no query, fragment or trailing slash')
    .optional(),
  apiBaseUrlClaim: z.string().regex(NAME).optional(),
  apiToken: z
    .strictObject({
      header: z.string().regex(/^[A-Za-z0-9-]+$/),
      scheme: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/)
        .optional(),
    })
    .optional(),
});

/** Names the request builders set themselves: a template must not override them. */
const RESERVED_AUTHORIZE = ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method'];
const RESERVED_TOKEN = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'scope'];
/** Appended to every grant by `templateParameters`. */
const COMMON_PARAMETERS = ['clientSecretExpiresOn'];

function crossCheck(t: ProviderTemplate): string[] {
  const problems: string[] = [];
  const grants = Object.entries(t.grantTypes) as [GrantType, { parameters: TemplateParameter[] }][];
  if (grants.length === 0) problems.push('it has no grant type');
  const all = new Map<string, TemplateParameter>();
  for (const [grant, { parameters }] of grants) {
    const seen = new Set<string>();
    for (const p of parameters) {
      if (seen.has(p.name)) problems.push(`${grant} lists parameter '${p.name}' twice`);
      if (COMMON_PARAMETERS.includes(p.name)) problems.push(`${grant} redefines the common parameter '${p.name}'`);
      if (p.default !== undefined && p.pattern !== undefined && !new RegExp(`^(?:${p.pattern})$`, 'u').test(p.default)) {
        problems.push(`the default of '${p.name}' does not match its pattern`);
      }
      seen.add(p.name);
      all.set(p.name, p);
    }
  }
  if (t.grantTypes.authorizationCode && !t.endpoints.authorizationUrl) problems.push('authorizationCode needs endpoints.authorizationUrl');

  const derived = t.derivedParameters ?? [];
  if (derived.length && !t.dynamicRegistration) problems.push('derivedParameters need dynamicRegistration');
  for (const d of derived) if (all.has(d)) problems.push(`derived parameter '${d}' is also an admin parameter`);
  const known = (name: string) => all.has(name) || derived.includes(name);
  const isUrl = (name: string) => all.get(name)?.kind === 'url' || (derived.includes(name) && name.endsWith('Url'));

  for (const [which, url] of Object.entries(t.endpoints) as [string, string | undefined][]) {
    if (url === undefined) continue;
    const names = placeholdersOf(url);
    if (names.length === 0) {
      if (!url.startsWith('https://')) problems.push(`endpoints.${which} must be https`);
    }
    for (const name of names) {
      if (!known(name)) problems.push(`endpoints.${which} names unknown parameter '{${name}}'`);
      else if (isUrl(name)) {
        if (!url.startsWith(`{${name}}`)) problems.push(`endpoints.${which} may only start with the URL parameter '{${name}}'`);
      } else if (!all.get(name)?.pattern) {
        problems.push(`parameter '${name}' is used in endpoints.${which} and needs a pattern`);
      }
    }
    const sample = url.replace(/\{([A-Za-z][A-Za-z0-9_]*)\}/g, (_m, n: string) => (isUrl(n) ? 'https://sample.example' : 'sample'));
    if (!URL.canParse(sample) || !/^https?:$/.test(new URL(sample).protocol)) problems.push(`endpoints.${which} is not a URL`);
  }
  for (const [field, values] of [
    ['authorizeParameters', t.authorizeParameters],
    ['tokenParameters', t.tokenParameters],
  ] as const) {
    for (const [key, value] of Object.entries(values ?? {})) {
      const reserved = field === 'authorizeParameters' ? [...RESERVED_AUTHORIZE, t.scopeParameter ?? 'scope'] : RESERVED_TOKEN;
      if (reserved.includes(key)) problems.push(`${field} must not set '${key}'`);
      for (const name of placeholdersOf(value)) if (!known(name)) problems.push(`${field}.${key} names unknown parameter '{${name}}'`);
    }
  }
  if (t.clientAuthenticationParameter && !grants.every(([, g]) => g.parameters.some((p) => p.name === t.clientAuthenticationParameter))) {
    problems.push(`clientAuthenticationParameter '${t.clientAuthenticationParameter}' is not a parameter of every grant`);
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates the templates and returns them frozen; throws naming the first template that is wrong. */
export function loadCatalogue(templates: readonly ProviderTemplate[]): readonly ProviderTemplate[] {
  const ids = new Set<string>();
  templates.forEach((t, index) => {
    const label = typeof t?.id === 'string' ? `'${t.id}'` : `#${index}`;
    const parsed = templateSchema.safeParse(t);
    const problems = parsed.success ? crossCheck(t) : parsed.error.issues.map((i) => `${i.path.join('.') || '(template)'}: ${i.message}`);
    if (ids.has(t.id)) problems.push('the id is used by another template');
    if (problems.length) throw new Error(`Provider template ${label} is invalid: ${problems.join('; ')}.`);
    ids.add(t.id);
  });
  return deepFreeze([...templates]);
}
