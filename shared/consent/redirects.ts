import { ValidationError } from '../errors';

// Where a login link may send the browser back to: the app's own origin and origins the
// configuration names. Anything else would make credman an open redirector for phishing.

export function parseRedirectUrl(
  value: string,
  allowedOrigins: readonly string[],
  notAllowed = (origin: string) => `Its origin ${origin} is neither this app's nor one in CREDMAN_ALLOWED_REDIRECT_ORIGINS.`,
): string {
  const refuse = (message: string) => new ValidationError('The postLoginRedirectUrl is not allowed.', [{ code: 'RedirectNotAllowed', target: 'postLoginRedirectUrl', message }]);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw refuse('It must be an absolute URL.');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw refuse('It must be an http(s) URL.');
  if (u.username || u.password) throw refuse('It must not carry credentials.');
  if (!allowedOrigins.includes(u.origin)) {
    throw refuse(notAllowed(u.origin));
  }
  u.hash = '';
  return u.toString();
}
