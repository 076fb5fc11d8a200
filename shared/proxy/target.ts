// Where a proxied request goes: the provider's API root (admin-set, or the template's) joined with
// the path and query the caller gave. The caller chooses the path under the root, never the host
// or a path outside the root: a dot segment (also percent-encoded), a backslash (URL parsers read
// it as a slash) or a control character is refused before anything is sent. Percent-encoded
// slashes stay encoded (GitLab's `projects/group%2Fname`): they are one segment to the upstream too.
// A dot segment followed by a path parameter (`..;x`, which Tomcat and Jetty read as `..`) is one
// too, and a `?` in the path (a decoded %3F) is refused: it would end the path where we did not look.

import type { ProviderTemplate } from '../oauth/template';

/**
 * The API root of a connection: the admin's (the provider's `apiBaseUrl`), else the one its token
 * response names where the template says so (Salesforce's `instance_url`: each org its own
 * instance), else the template's default; undefined: none.
 */
export function apiRootOf(adminSet: string | undefined, template: Pick<ProviderTemplate, 'apiBaseUrl' | 'apiBaseUrlClaim'>, claims: Record<string, unknown>): string | undefined {
  if (adminSet) return adminSet;
  const claimed = template.apiBaseUrlClaim === undefined ? undefined : claims[template.apiBaseUrlClaim];
  if (typeof claimed === 'string' && claimed !== '') return claimed;
  return template.apiBaseUrl;
}

export class ProxyPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyPathError';
  }
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}(?:;.*)?$/i;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const FORBIDDEN = /[\\\u0000-\u001f\u007f#?]|%5c|%00/i;

/**
 * The upstream URL of a request: `rawPath` is the still percent-encoded remainder after
 * `proxy/{providerId}/{connectionId}/`, `search` the raw query string (with its `?`, or empty).
 */
export function upstreamUrl(apiBaseUrl: string, rawPath: string, search: string): URL {
  const base = new URL(apiBaseUrl);
  if (FORBIDDEN.test(rawPath) || search.includes('#')) throw new ProxyPathError('The path may not hold a backslash, a control character, a query or a fragment.');
  if (search !== '' && !search.startsWith('?')) throw new ProxyPathError('The query must start with "?".');
  // Split at encoded slashes too: an upstream that decodes %2F before it resolves dot segments reads `..%2F` as `../`.
  const segments = rawPath.split(/\/|%2f/i);
  if (segments.some((s) => DOT_SEGMENT.test(s))) throw new ProxyPathError('The path may not hold "." or ".." segments.');
  const root = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${base.origin}${root}/${rawPath}${search}`);
  // Belt and braces: whatever the parser made of it, it is still under the root.
  if (url.origin !== base.origin || (url.pathname !== root && !url.pathname.startsWith(`${root}/`))) {
    throw new ProxyPathError('The path leaves the API root.');
  }
  return url;
}
