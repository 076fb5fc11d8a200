import { misconfigured, resolveAuthorizationUrl, splitScopes, substituteValues, withDefaults } from './endpoints';
import type { ProviderTemplate } from './template';

// The URL that sends a person to the identity provider to consent (RFC 6749 §4.1.1, with PKCE
// per RFC 7636 §4.3 where the template supports it).

export interface AuthorizeRequest {
  redirectUri: string;
  state: string;
  /** The S256 challenge of the code verifier; sent only when the template supports PKCE. */
  codeChallenge?: string;
}

/** Percent-encodes like encodeURIComponent, so that spaces are `%20` (not `+`) for every server. */
function query(pairs: [string, string][]): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

export function buildAuthorizeUrl(template: ProviderTemplate, params: Record<string, string>, request: AuthorizeRequest): string {
  const values = withDefaults(template, params, 'authorizationCode');
  const url = new URL(resolveAuthorizationUrl(template, values));
  if (!values.clientId) throw misconfigured(`The provider has no value for 'clientId', which the authorization request needs.`);

  const ours = new Map<string, string>([
    ['response_type', 'code'],
    ['client_id', values.clientId],
    ['redirect_uri', request.redirectUri],
    ['state', request.state],
  ]);
  const scopes = splitScopes(values.scopes);
  if (scopes.length) ours.set(template.scopeParameter ?? 'scope', scopes.join(template.scopeSeparator));
  if (template.pkce === 'S256' && request.codeChallenge) {
    ours.set('code_challenge', request.codeChallenge);
    ours.set('code_challenge_method', 'S256');
  }
  for (const [k, v] of substituteValues(template, template.authorizeParameters, values)) ours.set(k, v);

  // Parameters already in the configured URL stay, unless ours replace them.
  const kept = [...url.searchParams.entries()].filter(([k]) => !ours.has(k));
  return `${url.origin}${url.pathname}?${query([...kept, ...ours.entries()])}`;
}
