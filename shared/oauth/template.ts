// The shape of a provider template: everything credman needs to know about one identity provider
// to build its authorize URL, call its token endpoint and read its answers. Templates are data
// (shared/oauth/catalogue/); the engine reads nothing provider-specific from anywhere else.

export type GrantType = 'authorizationCode' | 'clientCredentials';
export type ParameterKind = 'string' | 'url' | 'scopes' | 'date';

export interface TemplateParameter {
  name: string;
  displayName: string;
  kind: ParameterKind;
  required: boolean;
  secret: boolean;
  default?: string;
  /** A regular expression (anchored by the validator) the value must match, e.g. for `{subdomain}`. */
  pattern?: string;
  description: string;
}

/** How the client proves itself at the token endpoint (RFC 6749 §2.3.1). */
export type ClientAuthentication = 'basic' | 'body';

export interface TokenResponseShape {
  /** `form` for providers that answer `application/x-www-form-urlencoded` (GitHub without Accept). Content type wins when present. */
  format: 'json' | 'form';
  /** Where the token fields live, when nested (Slack user tokens: `authed_user`). */
  tokenPath?: string;
  /** Providers that answer errors with HTTP 200 and `{ ok: false, error }` (Slack). */
  okFlag?: boolean;
  /** Lifetime to assume when the response has no `expires_in` (seconds). Absent: the token is treated as non-expiring. */
  defaultExpiresInSeconds?: number;
}

export interface RefreshTokenPolicy {
  /** The provider issues a refresh token (for the authorization-code grant). */
  issued: boolean;
  /** Each refresh returns a new refresh token and invalidates the old one; replaying it revokes the family. */
  rotates: boolean;
  /** The refresh token dies after this many seconds unused, where the provider documents it. */
  idleLifetimeSeconds?: number;
  /** The refresh token dies this many seconds after consent regardless of use, where documented. */
  absoluteLifetimeSeconds?: number;
}

export interface ProviderTemplate {
  id: string;
  displayName: string;
  documentationUrl?: string;
  grantTypes: Partial<Record<GrantType, { parameters: TemplateParameter[] }>>;
  /**
   * URL templates. `{name}` is replaced by the value of parameter `name`: parameters of kind `url`
   * are inserted as-is (without a trailing slash), others URL-encoded. The result must be https,
   * except for `url` parameters given by the admin (generic templates) which may be http.
   */
  endpoints: { authorizationUrl?: string; tokenUrl: string; refreshUrl?: string };
  clientAuthentication: ClientAuthentication;
  scopeSeparator: ' ' | ',';
  /** The authorize parameter that carries scopes: `scope` for most; Slack user tokens use `user_scope`. */
  scopeParameter?: string;
  /** PKCE S256 where the provider supports it; `none` where it rejects or ignores it. */
  pkce: 'S256' | 'none';
  /** Extra authorize parameters; values may hold `{placeholders}` (e.g. Entra v1 `resource={resourceUri}`). */
  authorizeParameters?: Record<string, string>;
  /** Extra token-endpoint parameters for every grant (code exchange, refresh, client credentials); placeholders allowed. */
  tokenParameters?: Record<string, string>;
  refreshToken: RefreshTokenPolicy;
  tokenResponse: TokenResponseShape;
  /** The template discovers its endpoints (RFC 8414) and registers its client (RFC 7591) from `serverUrl`. */
  dynamicRegistration?: boolean;
}
