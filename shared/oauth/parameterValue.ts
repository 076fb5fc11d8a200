import type { TemplateParameter } from './template';

// The rules a template parameter's value must meet, in one place: the API checks every provider
// and connection write with them (shared/management/parameters.ts), and the console checks its
// forms with the same function before sending anything. No imports but types: it is bundled into
// the console as is.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

const compiled = new Map<string, RegExp>();
/** A template pattern, anchored: the whole value must match (the catalogue loader checked it compiles). */
function anchored(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`, 'u');
    compiled.set(pattern, re);
  }
  return re;
}

/** What is wrong with `value` for parameter `p` ("must be an absolute URL"…), or undefined when nothing is. */
export function parameterValueProblem(p: Pick<TemplateParameter, 'kind' | 'pattern'>, value: string): string | undefined {
  if (value.trim() === '') return 'must not be empty';
  if (CONTROL.test(value)) return 'must not contain control characters';
  if (p.kind === 'url') {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return 'must be an absolute URL';
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
    if (u.username || u.password) return 'must not carry credentials';
  }
  if (p.kind === 'date' && (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(value) || Number.isNaN(Date.parse(value)))) {
    return 'must be an ISO 8601 date';
  }
  // Values that land in an endpoint's host or path (subdomain, domain, realm) must not reshape it.
  if (p.pattern !== undefined && !anchored(p.pattern).test(value)) return `does not have the expected form (${p.pattern})`;
  return undefined;
}
