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
  /**
   * The token type to report whatever the response says, for providers whose `token_type` is not
   * an HTTP authentication scheme (Slack answers `user` or `bot` for tokens used as `Bearer`).
   */
  tokenType?: string;
  /**
   * The field that carries the error code when the provider does not use RFC 6749's `error`
   * (Notion: `code`; HubSpot: `status`). Read only from responses without an access token.
   */
  errorField?: string;
  /**
   * Provider error codes to report as RFC 6749 codes, so that the engine's mapping (`invalid_grant`
   * → reauthorization, `invalid_client` → secret) works for providers with their own vocabulary
   * (HubSpot: `BAD_REFRESH_TOKEN`).
   */
  errorCodes?: Record<string, string>;
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
   * `refreshUrl` defaults to the token URL, and falls back to it when it names an optional
   * parameter that has no value (generic templates: `{refreshUrl}`). `authorizationUrl` is only
   * needed for the authorization-code grant, so a provider configured for client credentials alone
   * may leave its parameters out.
   */
  endpoints: { authorizationUrl?: string; tokenUrl: string; refreshUrl?: string };
  clientAuthentication: ClientAuthentication;
  /**
   * Generic templates only: the parameter (values `basic` | `body`) by which the admin overrides
   * `clientAuthentication`, since a generic server may accept only one of them.
   */
  clientAuthenticationParameter?: string;
  /**
   * How the token request body is encoded; `form` (RFC 6749) unless given. Notion documents only
   * JSON bodies for its token endpoint.
   */
  tokenRequestFormat?: 'form' | 'json';
  /**
   * Send the scopes on the code exchange and on refresh as well, not only on client credentials
   * (Entra v2 documents `scope` as required on refresh; Zendesk on the code exchange).
   */
  scopeInTokenRequests?: boolean;
  scopeSeparator: ' ' | ',';
  /** The authorize parameter that carries scopes: `scope` for most; Slack user tokens use `user_scope`. */
  scopeParameter?: string;
  /** PKCE S256 where the provider supports it; `none` where it rejects or ignores it. */
  pkce: 'S256' | 'none';
  /**
   * Extra authorize parameters; values may hold `{placeholders}` (e.g. Entra v1 `resource={resourceUri}`).
   * In parameter values (here and in `tokenParameters`) placeholders are inserted unencoded (the
   * query or form encoding does that), and a `scopes` parameter is normalised: split on whitespace
   * and commas, joined by `scopeSeparator`.
   */
  authorizeParameters?: Record<string, string>;
  /** Extra token-endpoint parameters for every grant (code exchange, refresh, client credentials); placeholders allowed. */
  tokenParameters?: Record<string, string>;
  refreshToken: RefreshTokenPolicy;
  tokenResponse: TokenResponseShape;
  /** The template discovers its endpoints (RFC 8414) and registers its client (RFC 7591) from `serverUrl`. */
  dynamicRegistration?: boolean;
  /**
   * With `dynamicRegistration`: values the engine fills in at run time from the discovered metadata
   * and the registration (`authorizationUrl`, `tokenUrl`, `clientId`, `clientSecret`). They are not
   * admin parameters, but endpoints may name them; those whose name ends in `Url` are URLs.
   */
  derivedParameters?: string[];
  /**
   * The provider's API, where the proxy sends a connection's requests unless the admin set the
   * provider's own `apiBaseUrl` (https, no query or fragment).
   */
  apiBaseUrl?: string;
  /**
   * A field of the token response that names the API root of the connection's own instance
   * (Salesforce's `instance_url`): used, after the destination guard, where the admin set none.
   */
  apiBaseUrlClaim?: string;
  /** Where the proxy puts the access token: `Authorization: Bearer <token>` unless the API wants another header (Shopify's `X-Shopify-Access-Token`). */
  apiToken?: { header: string; scheme?: string };
}
