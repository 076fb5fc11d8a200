import { z } from 'zod';
import { IdentityProviderError, ValidationError } from '../errors';
import type { IdpClient } from './idpClient';

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

const registrationSchema = z.object({ client_id: z.string().min(1), client_secret: z.string().min(1).optional() });

export interface Registration {
  /** Plain parameters stored on the provider (they show in GET responses). */
  plain: { issuer: string; authorizationUrl: string; tokenUrl: string; clientId: string };
  /** The client secret, when the server issued one (sealed like any client secret). */
  clientSecret?: string;
}

const invalid = (message: string) =>
  new ValidationError('The server at serverUrl cannot be used for dynamic registration.', [
    { code: 'DynamicRegistrationFailed', target: 'properties.oauth2.grantTypes.authorizationCode.serverUrl', message },
  ]);

/** RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path. */
function metadataUrls(serverUrl: string): string[] {
  const u = new URL(serverUrl);
  const path = u.pathname.replace(/\/+$/, '');
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}/.well-known/openid-configuration${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
}

export async function discoverAndRegister(idp: IdpClient, serverUrl: string, redirectUri: string, scopes: string | undefined): Promise<Registration> {
  let metadata: z.infer<typeof metadataSchema> | undefined;
  for (const url of metadataUrls(serverUrl)) {
    const r = await idp.json('GET', url);
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
    throw invalid(`The metadata names issuer ${metadata.issuer}, not ${serverUrl}.`);
  }
  const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (!methods.includes('client_secret_post') && !methods.includes('none')) {
    throw invalid('The server supports neither client_secret_post nor public clients.');
  }
  const reg = await idp.json('POST', metadata.registration_endpoint, {
    client_name: 'credman',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: methods.includes('client_secret_post') ? 'client_secret_post' : 'none',
    ...(scopes ? { scope: scopes.split(/[\s,]+/).filter(Boolean).join(' ') } : {}),
  });
  if (reg.status >= 500) throw new IdentityProviderError(`The registration endpoint answered ${reg.status}.`);
  const registered = registrationSchema.safeParse(reg.body);
  if (reg.status !== 201 && reg.status !== 200) {
    const error = (reg.body as { error?: unknown } | undefined)?.error;
    throw invalid(`The registration endpoint refused credman (${reg.status}${typeof error === 'string' ? ` ${error.replace(/[^\w.-]/g, '').slice(0, 64)}` : ''}).`);
  }
  if (!registered.success) throw invalid('The registration endpoint answered without a client_id.');
  return {
    plain: { issuer: metadata.issuer, authorizationUrl: metadata.authorization_endpoint, tokenUrl: metadata.token_endpoint, clientId: registered.data.client_id },
    ...(registered.data.client_secret ? { clientSecret: registered.data.client_secret } : {}),
  };
}
