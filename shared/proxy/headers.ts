import { randomUUID } from 'node:crypto';

// Which headers cross the proxy. Towards the upstream: the caller's own, except those that belong
// to this hop (RFC 9110 §7.6.1, and any the Connection header names), the caller's credentials for
// credman (Authorization, Cookie) and what the platform's front end adds about the client and the
// site (X-Forwarded-*, X-ARR-*, X-MS-*, Client-IP …): the upstream learns nothing of credman's
// callers but what they chose to send. Back to the caller: the upstream's answer as it is (status,
// rate-limit headers, Retry-After, content encoding and length: the bytes pass unchanged) but for
// hop-by-hop headers and what would act on credman's own origin rather than describe the answer:
// Set-Cookie, HSTS, Clear-Site-Data, Alt-Svc, CORS grants, a CSP or frame policy of the upstream's,
// and any `credman-*` header: that namespace is credman's word about the exchange (credman-token-refreshed).
// The answer is served from credman's origin, so it is always sandboxed and never sniffed: an HTML
// body from the upstream cannot run script there.

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
// x-functions-key and x-zumo-auth are credentials for the Functions host and App Service authentication.
const REQUEST_DROPPED = new Set(['authorization', 'cookie', 'host', 'forwarded', 'client-ip', 'disguised-host', 'was-default-hostname', 'max-forwards', 'expect', 'x-functions-key', 'x-zumo-auth']);
const REQUEST_DROPPED_PREFIXES = ['x-forwarded-', 'x-arr-', 'x-ms-', 'x-original-', 'x-site-', 'x-waws-', 'x-appservice-', 'x-client-', 'x-azure-', 'x-fd-'];
const RESPONSE_DROPPED = new Set([
  'set-cookie',
  'strict-transport-security',
  'clear-site-data',
  'alt-svc',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-frame-options',
  'x-content-type-options',
  'permissions-policy',
  'cross-origin-opener-policy',
  'cross-origin-embedder-policy',
  'cross-origin-resource-policy',
  'refresh',
]);
const RESPONSE_DROPPED_PREFIXES = ['access-control-', 'credman-'];
/** Set on every proxied answer (what credman's origin says about a body it did not write). */
const RESPONSE_ADDED = { 'content-security-policy': "sandbox; default-src 'none'", 'x-content-type-options': 'nosniff' } as const;

/** What credman adds to an upstream answer's Via. */
export const VIA = '1.1 credman';

/** The correlation id's header, both ways. */
export const CORRELATION_HEADER = 'x-correlation-id';
const CORRELATION = /^[A-Za-z0-9._:-]{1,128}$/;

/** Header names every Connection header lists (a field may repeat): hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(values: readonly (string | readonly string[] | undefined)[]): Set<string> {
  return new Set(
    values
      .flat()
      .join(',')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** The caller's headers as they go upstream, without the token (the caller attaches it). */
export function upstreamRequestHeaders(incoming: Iterable<[string, string]>, correlationId: string): Record<string, string> {
  const entries = [...incoming].map(([k, v]) => [k.toLowerCase(), v] as const);
  const listed = connectionListed(entries.filter(([k]) => k === 'connection').map(([, v]) => v));
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (HOP_BY_HOP.has(k) || listed.has(k) || REQUEST_DROPPED.has(k) || REQUEST_DROPPED_PREFIXES.some((p) => k.startsWith(p))) continue;
    out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
  }
  out[CORRELATION_HEADER] = correlationId;
  return out;
}

/** The upstream's response headers as they go back to the caller. */
export function callerResponseHeaders(upstream: Record<string, string | string[] | undefined>, correlationId: string): Record<string, string> {
  const listed = connectionListed(Object.entries(upstream).flatMap(([k, v]) => (k.toLowerCase() === 'connection' ? [v] : [])));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream)) {
    const k = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(k) || listed.has(k) || RESPONSE_DROPPED.has(k) || RESPONSE_DROPPED_PREFIXES.some((p) => k.startsWith(p))) continue;
    out[k] = Array.isArray(value) ? value.join(', ') : value;
  }
  Object.assign(out, RESPONSE_ADDED);
  // RFC 9110 §7.6.3: a proxy says it forwarded the answer; the SDK tells the upstream's answers from credman's own by it.
  out.via = out.via ? `${out.via}, ${VIA}` : VIA;
  out[CORRELATION_HEADER] = correlationId;
  return out;
}

/** The caller's correlation id when it is a sane token, else a new one. */
export function correlationIdOf(given: string | null | undefined): string {
  return given && CORRELATION.test(given) ? given : randomUUID();
}
