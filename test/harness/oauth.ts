import { createHash, randomBytes } from 'node:crypto';
import type { IdpClient } from '../support/idp';

// Token requests built by hand, as the harness tests need them (credman's own client is what the
// end-to-end tests exercise).

export async function postToken(
  tokenUrl: string,
  client: Pick<IdpClient, 'client_id' | 'client_secret' | 'token_endpoint_auth_method'>,
  params: Record<string, string>,
  signal?: AbortSignal,
): Promise<Response> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (client.token_endpoint_auth_method === 'client_secret_basic') {
    // RFC 6749 §2.3.1: form-encode both parts before base64.
    const enc = (s: string) => new URLSearchParams({ s }).toString().slice(2);
    headers.authorization = `Basic ${Buffer.from(`${enc(client.client_id)}:${enc(client.client_secret ?? '')}`).toString('base64')}`;
  } else {
    body.set('client_id', client.client_id);
    if (client.token_endpoint_auth_method === 'client_secret_post') body.set('client_secret', client.client_secret ?? '');
  }
  return fetch(tokenUrl, { method: 'POST', headers, body: body.toString(), signal });
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
