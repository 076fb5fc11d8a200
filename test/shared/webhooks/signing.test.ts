import { createHmac } from 'node:crypto';
import { signBody, verifySignature } from '../../../shared/webhooks/signing';

const secret = 'receiver-secret-0123456789';
const body = '{"id":"d1","type":"connection.connected","time":"2026-11-01T00:00:00.000Z","data":{"providerId":"gh","connectionId":"alice"}}';

it('is sha256= and the hex HMAC-SHA256 of the exact raw body', () => {
  expect(signBody(secret, body)).toBe(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  expect(signBody(secret, Buffer.from(body))).toBe(signBody(secret, body));
});

it('verifies only the same bytes under the same secret', () => {
  const header = signBody(secret, body);
  expect(verifySignature(secret, body, header)).toBe(true);
  // Re-serialised JSON is not the body that was signed.
  expect(verifySignature(secret, JSON.stringify(JSON.parse(body), null, 1), header)).toBe(false);
  expect(verifySignature('another-secret-0123456789', body, header)).toBe(false);
  expect(verifySignature(secret, body, header.replace('sha256=', 'sha1='))).toBe(false);
  expect(verifySignature(secret, body, 'sha256=abcd')).toBe(false);
  expect(verifySignature(secret, body, undefined)).toBe(false);
});
