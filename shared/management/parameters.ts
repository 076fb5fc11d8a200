import { type ErrorDetail, UnsupportedGrantTypeError, ValidationError } from '../errors';
import { templateParameters, type GrantType, type ProviderTemplate } from '../oauth/catalogue';
import { kindOf, placeholdersOf, resolveEndpoints } from '../oauth/endpoints';
import { IdpDestinationError, type IdpClient } from '../oauth/idpClient';
import { parameterValueProblem } from '../oauth/parameterValue';

export interface SplitParameters {
  plain: Record<string, string>;
  secret: Record<string, string>;
}

/**
 * Checks a grant type's parameters against the template: unknown names, malformed values and
 * (when `requireAll`) missing required ones are 400s naming the field. Defaults fill the gaps.
 */
export function validateParameters(template: ProviderTemplate, grant: GrantType, given: Record<string, string>, target: string, opts: { requireAll: boolean }): SplitParameters {
  const params = templateParameters(template, grant);
  if (!params) {
    throw new UnsupportedGrantTypeError(`The identity provider '${template.id}' does not support the ${grant} grant.`, [
      { code: 'UnsupportedGrantType', target, message: `Supported: ${Object.keys(template.grantTypes).join(', ')}.` },
    ]);
  }
  const byName = new Map(params.map((p) => [p.name, p]));
  const details: ErrorDetail[] = [];
  const out: SplitParameters = { plain: {}, secret: {} };
  for (const [name, value] of Object.entries(given)) {
    const p = byName.get(name);
    if (!p) {
      details.push({ code: 'UnknownParameter', target: `${target}.${name}`, message: `'${name}' is not a parameter of this grant type.` });
      continue;
    }
    const problem = parameterValueProblem(p, value);
    if (problem) {
      details.push({ code: 'InvalidValue', target: `${target}.${name}`, message: `'${name}' ${problem}.` });
      continue;
    }
    (p.secret ? out.secret : out.plain)[name] = value;
  }
  if (opts.requireAll) {
    for (const p of params) {
      if (p.name in given) continue;
      if (p.default !== undefined) out.plain[p.name] = p.default;
      else if (p.required) details.push({ code: 'MissingParameter', target: `${target}.${p.name}`, message: `'${p.name}' is required.` });
    }
  }
  if (details.length) throw new ValidationError('The parameters are not valid for this identity provider.', details);
  return out;
}

/**
 * The token and refresh endpoints credman will call with these parameters must pass the
 * destination guard of every outbound call: a refused one is a 400 naming the parameter it comes
 * from (`target` prefix + name), not a failure at the first token. Names are resolved only when
 * connecting, where the guard runs again. The authorization endpoint is the browser's to visit,
 * not credman's.
 */
export function checkDestinations(idp: Pick<IdpClient, 'checkUrl'>, template: ProviderTemplate, params: Record<string, string>, target: string): void {
  let endpoints: { tokenUrl: string; refreshUrl: string };
  try {
    endpoints = resolveEndpoints(template, params);
  } catch {
    return; // a value the endpoints need is missing: validateParameters has said so, or run time will
  }
  for (const which of ['tokenUrl', 'refreshUrl'] as const) {
    const names = placeholdersOf(template.endpoints[which] ?? template.endpoints.tokenUrl);
    const name = names.find((n) => kindOf(template, n) === 'url') ?? names[0];
    try {
      idp.checkUrl(endpoints[which], name ? `${target}.${name}` : target);
    } catch (err) {
      if (!(err instanceof IdpDestinationError)) throw err;
      throw err.asValidationError(`The ${which === 'tokenUrl' ? 'token' : 'refresh'} endpoint is not a destination credman calls.`);
    }
  }
}
