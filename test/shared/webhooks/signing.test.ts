import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { asSigningSecret, newSigningSecret, signatureHeaders } from '../../../shared/webhooks/signing';

// The Standard Webhooks headers, checked with the library a receiver uses (its verify reads the
// receiver's clock: a 5-minute tolerance).

const body = '{"id":"6f1c1f2e-8a4b-4c53-9a0e-2d7b0f3c9e11","type":"connection.connected","time":"2026-11-01T00:00:00.000Z","data":{"providerId":"gh","connectionId":"alice"}}';
const id = '6f1c1f2e-8a4b-4c53-9a0e-2d7b0f3c9e11';

it('issues secrets in the Standard Webhooks form: whsec_ and 32 random bytes in base64', () => {
  const a = newSigningSecret();
  expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
  expect(newSigningSecret()).not.toBe(a);
});

it('signs id, timestamp and body so that Webhook.verify accepts it, and only the same bytes', () => {
  const secret = newSigningSecret();
  const headers = signatureHeaders([secret], id, new Date(), body);
  expect(headers['webhook-id']).toBe(id);
  expect(headers['webhook-timestamp']).toBe(String(Math.floor(Date.now() / 1000)));
  expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  // Re-serialised JSON is not the body that was signed; another secret is not the secret.
  expect(() => new Webhook(secret).verify(JSON.stringify(JSON.parse(body), null, 1), headers)).toThrow('No matching signature found');
  expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow('No matching signature found');
  // The id and the timestamp are signed: neither can be changed.
  expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'another' })).toThrow('No matching signature found');
  expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) })).toThrow('No matching signature found');
});

it('is refused when replayed after the tolerance: the timestamp is signed, and old', () => {
  const secret = newSigningSecret();
  const sixMinutesAgo = new Date(Date.now() - 6 * 60_000);
  const headers = signatureHeaders([secret], id, sixMinutesAgo, body);
  expect(() => new Webhook(secret).verify(body, headers)).toThrow('Message timestamp too old');
});

it('signs with every secret given, space-separated: a receiver holding either verifies', () => {
  const [current, previous] = [newSigningSecret(), newSigningSecret()];
  const headers = signatureHeaders([current, previous], id, new Date(), body);
  expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
  for (const s of [current, previous]) expect(new Webhook(s).verify(body, headers)).toEqual(JSON.parse(body));
  expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
});

it('sends no webhook-signature without a secret', () => {
  expect(Object.keys(signatureHeaders([], id, new Date(), body)).sort()).toEqual(['webhook-id', 'webhook-timestamp']);
});

it('keeps a secret from before the scheme: its whsec_ form is the same HMAC key', () => {
  const legacy = 'receiver-secret-0123456789';
  const at = new Date();
  const headers = signatureHeaders([asSigningSecret(legacy)], id, at, body);
  const expected = createHmac('sha256', legacy)
    .update(`${id}.${Math.floor(at.getTime() / 1000)}.${body}`)
    .digest('base64');
  expect(headers['webhook-signature']).toBe(`v1,${expected}`);
  expect(asSigningSecret(asSigningSecret(legacy))).toBe(asSigningSecret(legacy));
});
