import { z } from 'zod';
import { IdentityProviderError, ValidationError } from '../errors';
import { IdpDestinationError, oauthErrorCode, type IdpClient } from './idpClient';

// `oauth2.1-dcr` providers: credman reads the server's metadata (RFC 8414, or OpenID Connect
// Discovery) from `serverUrl` and registers itself as a client (RFC 7591) with its own callback,
// so an admin gives one URL instead of an app registration.

const metadataSchema = z.object({
  issuer: z.url(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  registration_endpoint: z.url(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
});

const registrationSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1).optional(),
  // RFC 7592: where and with what the registration can be changed later.
  registration_client_uri: z.url().optional(),
  registration_access_token: z.string().min(1).optional(),
});

export interface Registration {
  /** Plain parameters stored on the provider (they show in GET responses). */
  plain: {
    issuer: string;
    authorizationUrl: string;
    tokenUrl: string;
    clientId: string;
    /** The callback registered, so that a change of credman's public URL is noticed. */
    registeredRedirectUrl: string;
    registrationClientUri?: string;
  };
  /** The client secret, when the server issued one (sealed like any client secret). */
  clientSecret?: string;
  /** RFC 7592's bearer for changing the registration (sealed). */
  registrationAccessToken?: string;
}

/** What credman asks the server to register, the same at registration and at an update. */
function clientMetadata(redirectUri: string, authMethod: string, scopes: string | undefined) {
  return {
    client_name: 'credman',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
    ...(scopes
      ? {
          scope: scopes
            .split(/[\s,]+/)
            .filter(Boolean)
            .join(' '),
        }
      : {}),
  };
}

function refused(status: number, body: unknown, what: string) {
  const error = (body as { error?: unknown } | undefined)?.error;
  return invalid(`The ${what} refused credman (${status}${typeof error === 'string' ? ` ${oauthErrorCode(error)}` : ''}).`);
}

const SERVER_URL = 'properties.oauth2.grantTypes.authorizationCode.serverUrl';

const NOT_USABLE = 'The server at serverUrl cannot be used for dynamic registration.';

const invalid = (message: string) => new ValidationError(NOT_USABLE, [{ code: 'DynamicRegistrationFailed', target: SERVER_URL, message }]);

/**
 * An identity-provider call of a provider write: a URL the destination guard refuses (serverUrl,
 * or an endpoint the metadata names) is the admin's 400, not a 409 at run time. Nothing was sent.
 */
async function call(idp: IdpClient, what: string, ...args: Parameters<IdpClient['json']>): ReturnType<IdpClient['json']> {
  try {
    return await idp.json(...args);
  } catch (err) {
    if (err instanceof IdpDestinationError) throw refusedDestination(err, what);
    throw err;
  }
}

function refusedDestination(err: IdpDestinationError, what: string) {
  return err.asValidationError(NOT_USABLE, { target: SERVER_URL, prefix: `${what} is not a destination credman calls: ` });
}

/** The endpoints the metadata names must pass the same guard before credman stores or calls them. */
function checkEndpoints(idp: IdpClient, urls: Record<string, string | undefined>): void {
  for (const [name, url] of Object.entries(urls)) {
    if (url === undefined) continue;
    try {
      idp.checkUrl(url);
    } catch (err) {
      if (err instanceof IdpDestinationError) throw refusedDestination(err, name === 'serverUrl' ? 'serverUrl' : `The ${name} the server names`);
      throw err;
    }
  }
}

/** RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path. */
function metadataUrls(serverUrl: string): string[] {
  const u = new URL(serverUrl);
  const path = u.pathname.replace(/\/+$/, '');
  return [`${u.origin}/.well-known/oauth-authorization-server${path}`, `${u.origin}/.well-known/openid-configuration${path}`, `${u.origin}${path}/.well-known/openid-configuration`];
}

export async function discoverAndRegister(idp: IdpClient, serverUrl: string, redirectUri: string, scopes: string | undefined): Promise<Registration> {
  checkEndpoints(idp, { serverUrl });
  let metadata: z.infer<typeof metadataSchema> | undefined;
  for (const url of metadataUrls(serverUrl)) {
    const r = await call(idp, 'serverUrl', 'GET', url);
    if (r.status >= 500) throw new IdentityProviderError(`The server's metadata endpoint answered ${r.status}.`);
    const parsed = metadataSchema.safeParse(r.body);
    if (r.status === 200 && parsed.success) {
      metadata = parsed.data;
      break;
    }
  }
  if (!metadata) throw invalid('No RFC 8414 or OpenID metadata with issuer, authorization, token and registration endpoints was found.');
  // RFC 8414 §3.3: the metadata must be about the server it was fetched for (no impersonation).
  if (metadata.issuer.replace(/\/+$/, '') !== serverUrl.replace(/\/+$/, '')) {
    // Not quoted back: the issuer is the server's text.
    throw invalid('The metadata names issuer other than serverUrl.');
  }
  checkEndpoints(idp, { token_endpoint: metadata.token_endpoint, registration_endpoint: metadata.registration_endpoint });
  const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (!methods.includes('client_secret_post') && !methods.includes('none')) {
    throw invalid('The server supports neither client_secret_post nor public clients.');
  }
  const authMethod = methods.includes('client_secret_post') ? 'client_secret_post' : 'none';
  const reg = await call(idp, 'The registration_endpoint the server names', 'POST', metadata.registration_endpoint, clientMetadata(redirectUri, authMethod, scopes));
  if (reg.status >= 500) throw new IdentityProviderError(`The registration endpoint answered ${reg.status}.`);
  if (reg.status !== 201 && reg.status !== 200) throw refused(reg.status, reg.body, 'registration endpoint');
  const registered = registrationSchema.safeParse(reg.body);
  if (!registered.success) throw invalid('The registration endpoint answered without a client_id.');
  checkEndpoints(idp, { registration_client_uri: registered.data.registration_client_uri });
  const endpoints = { issuer: metadata.issuer, authorizationUrl: metadata.authorization_endpoint, tokenUrl: metadata.token_endpoint };
  return withRegistration(endpoints, registered.data, redirectUri);
}

export interface ExistingRegistration {
  issuer: string;
  authorizationUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret?: string;
  registrationClientUri: string;
  registrationAccessToken: string;
}

/**
 * RFC 7592: moves the registration to a new callback (credman's public URL changed), keeping
 * its client_id, so that the refresh tokens of existing connections stay valid.
 */
export async function updateRegistration(idp: IdpClient, current: ExistingRegistration, redirectUri: string, scopes: string | undefined): Promise<Registration> {
  const authMethod = current.clientSecret ? 'client_secret_post' : 'none';
  const body = {
    client_id: current.clientId,
    ...(current.clientSecret ? { client_secret: current.clientSecret } : {}),
    ...clientMetadata(redirectUri, authMethod, scopes),
  };
  const r = await call(idp, 'The registration_client_uri the server named', 'PUT', current.registrationClientUri, body, current.registrationAccessToken);
  if (r.status >= 500) throw new IdentityProviderError(`The client configuration endpoint answered ${r.status}.`);
  if (r.status !== 200) throw refused(r.status, r.body, 'client configuration endpoint (RFC 7592)');
  const updated = registrationSchema.safeParse(r.body);
  if (!updated.success || updated.data.client_id !== current.clientId) throw invalid('The client configuration endpoint answered without this client_id.');
  checkEndpoints(idp, { registration_client_uri: updated.data.registration_client_uri });
  const { issuer, authorizationUrl, tokenUrl } = current;
  return withRegistration(
    { issuer, authorizationUrl, tokenUrl },
    {
      // A server may keep or rotate the secret and the registration access token (RFC 7592 §2.2).
      ...updated.data,
      client_secret: updated.data.client_secret ?? current.clientSecret,
      registration_client_uri: updated.data.registration_client_uri ?? current.registrationClientUri,
      registration_access_token: updated.data.registration_access_token ?? current.registrationAccessToken,
    },
    redirectUri,
  );
}

function withRegistration(endpoints: { issuer: string; authorizationUrl: string; tokenUrl: string }, r: z.infer<typeof registrationSchema>, redirectUri: string): Registration {
  return {
    plain: {
      ...endpoints,
      clientId: r.client_id,
      registeredRedirectUrl: redirectUri,
      ...(r.registration_client_uri && r.registration_access_token ? { registrationClientUri: r.registration_client_uri } : {}),
    },
    ...(r.client_secret ? { clientSecret: r.client_secret } : {}),
    ...(r.registration_client_uri && r.registration_access_token ? { registrationAccessToken: r.registration_access_token } : {}),
  };
}
