import { CookieJar, parseForms } from '../support/consentDriver';

// The consent driver's cookie jar and form parser, without I/O.

const at = (href: string) => new URL(href);

test('cookies are kept per host and sent only under their path', () => {
  const jar = new CookieJar();
  jar.store(at('http://127.0.0.1:4000/auth'), ['_session=s1; path=/; httponly', '_interaction=i1; path=/interaction/abc; samesite=lax']);
  expect(jar.header(at('http://127.0.0.1:4000/auth/xyz'))).toBe('_session=s1');
  expect(jar.header(at('http://127.0.0.1:4000/interaction/abc'))).toBe('_interaction=i1; _session=s1');
  expect(jar.header(at('http://127.0.0.1:4000/interaction/abcd'))).toBe('_session=s1');
  expect(jar.header(at('http://localhost:4000/auth'))).toBeUndefined();
  // As in browsers, ports do not separate cookies.
  expect(jar.get(at('http://127.0.0.1:5000/'), '_session')).toBe('s1');
});

test('the default path is the directory of the request path', () => {
  const jar = new CookieJar();
  jar.store(at('http://h.test/a/b/c'), ['x=1']);
  expect(jar.header(at('http://h.test/a/b/d'))).toBe('x=1');
  expect(jar.header(at('http://h.test/a/x'))).toBeUndefined();
});

test('Max-Age=0 and a past Expires delete; a later Set-Cookie replaces', () => {
  const jar = new CookieJar();
  const url = at('http://127.0.0.1:4000/');
  jar.store(url, ['a=1; path=/', 'b=2; path=/', 'c=3; path=/']);
  jar.store(url, ['a=; path=/; max-age=0', 'b=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT', 'c=4; path=/']);
  expect(jar.header(url)).toBe('c=4');
  jar.store(url, ['d=5; max-age=60']);
  expect(jar.get(url, 'd')).toBe('5');
});

test('Secure cookies go over http only to loopback hosts', () => {
  const jar = new CookieJar();
  jar.store(at('http://localhost:1/'), ['s=1; Secure; Path=/']);
  jar.store(at('http://example.test/'), ['s=2; Secure; Path=/']);
  expect(jar.header(at('http://localhost:1/'))).toBe('s=1');
  expect(jar.header(at('http://example.test/'))).toBeUndefined();
  expect(jar.header(at('https://example.test/'))).toBe('s=2');
});

test('Domain cookies reach subdomains; a Domain the host is not under is refused', () => {
  const jar = new CookieJar();
  jar.store(at('http://login.idp.test/'), ['d=1; Domain=idp.test; Path=/', 'e=1; Domain=other.test; Path=/']);
  expect(jar.header(at('http://api.idp.test/'))).toBe('d=1');
  expect(jar.header(at('http://other.test/'))).toBeUndefined();
});

test('forms: action resolved against the page, method, named inputs with entities decoded', () => {
  const html = `<form autocomplete="off" action="/interaction/u1?a=1&amp;b=2" method="post">
    <input type="hidden" name="prompt" value="login"/><input required type="text" name="login" placeholder="x">
    <input type='hidden' name='q' value='&quot;x&#39;'><button type="submit">Go</button></form>
    <form action="https://other.test/go"><input name="n" value="v"></form>`;
  const [login, other] = parseForms(html, 'http://127.0.0.1:4000/interaction/u1');
  expect(login).toEqual({ action: new URL('http://127.0.0.1:4000/interaction/u1?a=1&b=2'), method: 'POST', fields: { prompt: 'login', login: '', q: `"x'` } });
  expect(other).toEqual({ action: new URL('https://other.test/go'), method: 'GET', fields: { n: 'v' } });
});
