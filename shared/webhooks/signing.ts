import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

// Deliveries are signed the Standard Webhooks way (https://www.standardwebhooks.com) by its
// maintained library: HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>`, so a receiver
// that checks the timestamp against its own clock (the library's `verify` allows 5 minutes)
// refuses a captured delivery replayed later. While a secret is being rotated both secrets sign:
// `webhook-signature` carries one `v1,…` per secret, space-separated, and either verifies.

const SECRET_PREFIX = 'whsec_';
/** Random bytes in a secret: the spec asks for 24 to 64. */
const SECRET_BYTES = 32;

/** A new signing secret in the Standard Webhooks form: `whsec_` and base64. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** A secret kept from before the Standard Webhooks scheme (any string) in that form: same HMAC key bytes. */
export function asSigningSecret(legacy: string): string {
  return legacy.startsWith(SECRET_PREFIX) ? legacy : SECRET_PREFIX + Buffer.from(legacy, 'utf8').toString('base64');
}

/**
 * The headers of one attempt: the same `id` on every retry, the attempt's own timestamp, and a
 * signature per secret (none without secrets).
 */
export function signatureHeaders(secrets: readonly string[], id: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    ...(secrets.length ? { 'webhook-signature': secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ') } : {}),
  };
}
