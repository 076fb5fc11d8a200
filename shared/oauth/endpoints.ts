import { CredmanError } from '../errors';
import type { GrantType, ParameterKind, ProviderTemplate } from './template';

// Placeholder substitution for a template's URLs and extra parameters, per the rules in
// template.ts. Pure: the values come in, strings go out; a value that is missing or makes an
// unusable URL is a 409 ProviderMisconfigured naming the parameter, never the value.

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The names of the `{placeholders}` in a string, in order of appearance. */
export function placeholdersOf(s: string): string[] {
  return [...s.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

export function misconfigured(message: string): CredmanError {
  return new CredmanError('ProviderMisconfigured', 409, message);
}

const GRANTS: GrantType[] = ['authorizationCode', 'clientCredentials'];

/** The kind of a parameter the template knows, or of a derived one (`…Url` names are URLs). */
export function kindOf(template: ProviderTemplate, name: string): ParameterKind | undefined {
  for (const g of GRANTS) {
    const p = template.grantTypes[g]?.parameters.find((q) => q.name === name);
    if (p) return p.kind;
  }
  if (template.derivedParameters?.includes(name)) return name.endsWith('Url') ? 'url' : 'string';
  return undefined;
}

/** The given values with the template's defaults filling the gaps (of one grant, or of any). */
export function withDefaults(template: ProviderTemplate, params: Record<string, string>, grant?: GrantType): Record<string, string> {
  const out = { ...params };
  for (const g of grant ? [grant] : GRANTS) {
    for (const p of template.grantTypes[g]?.parameters ?? []) {
      if (!out[p.name] && p.default !== undefined) out[p.name] = p.default;
    }
  }
  return out;
}

function fill(s: string, params: Record<string, string>, what: string, render: (name: string, value: string) => string): string {
  return s.replace(PLACEHOLDER, (_m, name: string) => {
    const value = params[name];
    if (value === undefined || value === '') {
      throw misconfigured(`The provider has no value for '${name}', which ${what} needs.`);
    }
    return render(name, value);
  });
}

/**
 * Fills a URL template: `url` parameters (of the template, or derived `…Url` ones) go in as-is
 * without a trailing slash, every other value percent-encoded. Without a template every value is
 * encoded.
 */
export function substitute(templateString: string, params: Record<string, string>, template?: ProviderTemplate): string {
  return fill(templateString, params, 'an endpoint', (name, value) => (template && kindOf(template, name) === 'url' ? value.replace(/\/+$/, '') : encodeURIComponent(value)));
}

/** Splits scopes given with spaces and/or commas. */
export function splitScopes(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((s) => s !== '');
}

/**
 * Fills an extra authorize or token parameter value: values unencoded (the query or form encoding
 * does that), `scopes` parameters normalised to the template's separator.
 */
export function substituteValue(template: ProviderTemplate, valueTemplate: string, params: Record<string, string>): string {
  return fill(valueTemplate, params, `the ${template.displayName} template`, (name, value) => (kindOf(template, name) === 'scopes' ? splitScopes(value).join(template.scopeSeparator) : value));
}

/** Resolves every `{placeholder}` of a record of parameter values. */
export function substituteValues(template: ProviderTemplate, values: Record<string, string> | undefined, params: Record<string, string>): [string, string][] {
  return Object.entries(values ?? {}).map(([k, v]) => [k, substituteValue(template, v, params)]);
}

function checkedUrl(url: string, which: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw misconfigured(`The ${which} of this provider is not a valid URL.`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw misconfigured(`The ${which} of this provider is not an http(s) URL.`);
  if (u.username || u.password) throw misconfigured(`The ${which} of this provider must not carry credentials.`);
  return u.toString();
}

/** The authorization URL alone, strictly: a missing value is an error naming it. */
export function resolveAuthorizationUrl(template: ProviderTemplate, params: Record<string, string>): string {
  if (!template.endpoints.authorizationUrl) {
    throw misconfigured(`The ${template.displayName} template has no authorization endpoint.`);
  }
  return checkedUrl(substitute(template.endpoints.authorizationUrl, withDefaults(template, params), template), 'authorization endpoint');
}

function isRequired(template: ProviderTemplate, name: string): boolean {
  return GRANTS.some((g) => template.grantTypes[g]?.parameters.some((p) => p.name === name && p.required));
}

/** Whether a URL template lacks values only for optional parameters (then it is skipped, not an error). */
function skippable(template: ProviderTemplate, s: string, params: Record<string, string>): boolean {
  const missing = placeholdersOf(s).filter((n) => !params[n]);
  return missing.length > 0 && missing.every((n) => !isRequired(template, n));
}

/**
 * The provider's endpoints. The token URL is required; the refresh URL falls back to it when the
 * template has none or names an optional parameter left empty; the authorization URL is left out
 * when a value it needs is missing (a provider set up for client credentials only):
 * `resolveAuthorizationUrl` is the strict form.
 */
export function resolveEndpoints(template: ProviderTemplate, params: Record<string, string>): { authorizationUrl?: string; tokenUrl: string; refreshUrl: string } {
  const values = withDefaults(template, params);
  const { authorizationUrl, tokenUrl, refreshUrl } = template.endpoints;
  const token = checkedUrl(substitute(tokenUrl, values, template), 'token endpoint');
  const refresh = refreshUrl && !skippable(template, refreshUrl, values) ? checkedUrl(substitute(refreshUrl, values, template), 'refresh endpoint') : token;
  const authorize = authorizationUrl && placeholdersOf(authorizationUrl).every((n) => values[n]);
  return {
    ...(authorize ? { authorizationUrl: resolveAuthorizationUrl(template, values) } : {}),
    tokenUrl: token,
    refreshUrl: refresh,
  };
}
