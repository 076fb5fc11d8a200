import type { ParameterKind, TemplateParameter } from '../template';

// Parameter building blocks and value patterns shared by the templates. Every non-URL value that
// lands in an endpoint's host or path carries a pattern, so that no value can change the host.

export function param(
  name: string,
  displayName: string,
  kind: ParameterKind,
  description: string,
  opts: { required?: boolean; secret?: boolean; default?: string; pattern?: string } = {},
): TemplateParameter {
  return {
    name,
    displayName,
    kind,
    description,
    required: opts.required ?? false,
    secret: opts.secret ?? false,
    ...(opts.default === undefined ? {} : { default: opts.default }),
    ...(opts.pattern === undefined ? {} : { pattern: opts.pattern }),
  };
}

/** One DNS label: what a `{subdomain}` may be. */
export const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** A fully qualified host name (two labels at least), for `{domain}`. */
export const HOSTNAME = `${LABEL}(?:\\.${LABEL})+`;
/** An https origin without path, query or credentials. */
export const HTTPS_ORIGIN = `https://${HOSTNAME}(?::[0-9]{1,5})?`;
/** A self-hosted server's base URL: http(s), host (localhost allowed), port, plain path segments. */
export const BASE_URL = `https?://${LABEL}(?:\\.${LABEL})*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*/?`;

export const clientId = param('clientId', 'Client ID', 'string', 'The OAuth client identifier registered at the identity provider.', {
  required: true,
});

export const clientSecret = param('clientSecret', 'Client secret', 'string', 'The OAuth client secret. Write-only.', {
  required: true,
  secret: true,
});

/** For providers where a public client (PKCE, no secret) is possible. */
export const optionalClientSecret: TemplateParameter = {
  ...clientSecret,
  required: false,
  description: 'The client secret, for confidential clients; leave it out for a public client (PKCE). Write-only.',
};

export function scopes(defaultValue?: string, description = 'Scopes to request, separated by spaces or commas.'): TemplateParameter {
  return param('scopes', 'Scopes', 'scopes', description, defaultValue === undefined ? {} : { default: defaultValue });
}

export const requiredScopes = (description: string): TemplateParameter => ({ ...scopes(undefined, description), required: true });

/** Any template accepts it, so that credman can warn before the secret ends. */
export const clientSecretExpiresOn = param('clientSecretExpiresOn', 'Client secret expires on', 'date', 'ISO 8601 date on which the client secret ends.');

export const DAY = 24 * 60 * 60;
