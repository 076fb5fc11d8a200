import { findTemplate } from '../../../shared/oauth/catalogue';
import { apiRootOf, ProxyPathError, upstreamUrl } from '../../../shared/proxy/target';

// The caller picks a path under the provider's API root, never another host or a path above it.

it('joins the API root, the path and the query as given', () => {
  expect(upstreamUrl('https://api.github.com', 'repos/octo/cat/issues', '?state=open&per_page=100').href).toBe('https://api.github.com/repos/octo/cat/issues?state=open&per_page=100');
  expect(upstreamUrl('https://graph.microsoft.com/v1.0', 'me/messages', '').href).toBe('https://graph.microsoft.com/v1.0/me/messages');
  expect(upstreamUrl('https://app.asana.com/api/1.0', '', '').href).toBe('https://app.asana.com/api/1.0/');
});

it('keeps percent-encoding as the caller wrote it: an encoded slash stays one segment', () => {
  expect(upstreamUrl('https://gitlab.example.com/api/v4', 'projects/group%2Fname/issues', '?search=a%20b').href).toBe('https://gitlab.example.com/api/v4/projects/group%2Fname/issues?search=a%20b');
});

it.each([
  ['..', 'a parent segment'],
  ['a/../../admin', 'a parent segment inside'],
  ['%2e%2e/admin', 'an encoded parent segment'],
  ['.%2E/admin', 'a half-encoded parent segment'],
  ['./x', 'a dot segment'],
  ['a\\..\\b', 'backslashes'],
  ['a%5c..%5cb', 'encoded backslashes'],
  ['a\u0000b', 'a NUL'],
  ['a%00b', 'an encoded NUL'],
  ['a\nb', 'a line feed'],
  ['a#frag', 'a fragment'],
])('refuses %j (%s)', (path) => {
  expect(() => upstreamUrl('https://api.example.com/v1', path, '')).toThrow(ProxyPathError);
});

it('never lets the path name another host', () => {
  for (const path of ['/evil.example/x', '//evil.example/x', '@evil.example/x', 'https://evil.example/x', ':443@evil.example']) {
    const url = upstreamUrl('https://api.example.com/v1', path, '');
    expect([path, url.host, url.pathname.startsWith('/v1/')]).toEqual([path, 'api.example.com', true]);
  }
});

it('refuses a fragment smuggled into the query', () => {
  expect(() => upstreamUrl('https://api.example.com', 'x', '?a=1#b')).toThrow(ProxyPathError);
});

// Review: the dot-segment check reads segments split on "/" only, so a segment that a server reads
// as ".." once it drops a path parameter (Tomcat/Jetty: "..;x") or a query ("..?x") slipped by.
it.each([
  ['..;/admin', 'a parent segment with a path parameter (Tomcat reads it as "..")'],
  ['a/..;x=1/b', 'a parent segment with a named path parameter'],
  ['a/%2e%2e;/b', 'an encoded parent segment with a path parameter'],
  ['a/..?x=1', 'a parent segment ended by a query in the path'],
  ['a/%2e%2e?', 'an encoded parent segment ended by a query in the path'],
  ['a?b', 'a query inside the path (a decoded %3F)'],
  ['..%2fadmin', 'a parent segment before an encoded slash (an upstream that decodes %2F first reads ../)'],
  ['a/%2e%2e%2F%2e%2e%2Fadmin', 'encoded parent segments and slashes'],
])('refuses %j (%s)', (path) => {
  expect(() => upstreamUrl('https://api.example.com/v1', path, '')).toThrow(ProxyPathError);
});

it('refuses a query string that does not start with "?" (it would join the path)', () => {
  expect(() => upstreamUrl('https://api.example.com/v1', '', '/../admin')).toThrow(ProxyPathError);
  expect(() => upstreamUrl('https://api.example.com/v1', 'x', 'y')).toThrow(ProxyPathError);
});

describe('the API root of a connection', () => {
  const salesforce = findTemplate('salesforce')!;
  const github = findTemplate('github')!;
  const instance = { instance_url: 'https://acme.my.salesforce.com', token_type: 'Bearer' };

  it("is the admin's when set, whatever the template or token response say", () => {
    expect(apiRootOf('https://ghe.example.com/api/v3', github, {})).toBe('https://ghe.example.com/api/v3');
    expect(apiRootOf('https://proxy.example.com', salesforce, instance)).toBe('https://proxy.example.com');
  });

  it("is the token response's instance for Salesforce, and no other field of it", () => {
    expect(salesforce.apiBaseUrlClaim).toBe('instance_url');
    expect(apiRootOf(undefined, salesforce, instance)).toBe('https://acme.my.salesforce.com');
    expect(apiRootOf(undefined, salesforce, { instance_url: 42 })).toBeUndefined();
    expect(apiRootOf(undefined, github, { instance_url: 'https://evil.example' })).toBe('https://api.github.com');
  });

  it("is the template's default otherwise, and none for a template without one", () => {
    expect(apiRootOf(undefined, github, {})).toBe('https://api.github.com');
    expect(apiRootOf(undefined, findTemplate('oauth2')!, {})).toBeUndefined();
  });
});
