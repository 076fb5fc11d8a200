import { createHmac, timingSafeEqual } from 'node:crypto';

// X-Credman-Signature: `sha256=` and the hex HMAC-SHA256 of the exact bytes of the body, keyed
// with the subscription's secret. Receivers recompute it over the raw body they received (before
// any JSON parsing) and compare in constant time.

export const SIGNATURE_HEADER = 'X-Credman-Signature';
const PREFIX = 'sha256=';

export function signBody(secret: string, rawBody: string | Buffer): string {
  return PREFIX + createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** Constant-time check of a signature header against the raw body, as a receiver does it. */
export function verifySignature(secret: string, rawBody: string | Buffer, header: string | undefined): boolean {
  if (!header?.startsWith(PREFIX)) return false;
  const given = Buffer.from(header.slice(PREFIX.length), 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
