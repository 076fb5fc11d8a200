// A browser over HTTP for consent flows: follows redirects by hand, keeps cookies, and fills in
// oidc-provider's development login and consent forms (devInteractions), so that a test can go
// from a credman login link to its callback with plain `fetch`.

interface Cookie {
  name: string;
  value: string;
  /** Host-only cookies match their host exactly; others (a `Domain` attribute) also subdomains. */
  domain: string;
  hostOnly: boolean;
  path: string;
  expiresAt: number;
  secure: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Cookies per host, as RFC 6265 keeps them: by host name (ports are not told apart, as in
 * browsers), honouring `Domain`, `Path`, `Max-Age` and `Expires` (a past date or `Max-Age<=0`
 * deletes). `Secure` cookies are sent over https and, since everything here is plain http on
 * loopback, over http to 127.0.0.1 / localhost / [::1] too (browsers treat those as secure
 * contexts); never over http to other hosts. `SameSite` is ignored: every step is top-level.
 */
export class CookieJar {
  #cookies: Cookie[] = [];

  /** Stores the `Set-Cookie` headers of a response to `url`. */
  store(url: URL, setCookies: string[]): void {
    for (const header of setCookies) this.#set(url, header);
  }

  /** The `Cookie` header for a request to `url`, or undefined when none applies. */
  header(url: URL): string | undefined {
    const now = Date.now();
    this.#cookies = this.#cookies.filter((c) => c.expiresAt > now);
    const secureOk = url.protocol === 'https:' || LOOPBACK.has(url.hostname);
    const matching = this.#cookies.filter((c) => domainMatches(c, url.hostname) && pathMatches(c.path, url.pathname) && (!c.secure || secureOk)).sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The value of a cookie that would be sent to `url`. */
  get(url: URL, name: string): string | undefined {
    const pair = this.header(url)
      ?.split('; ')
      .find((p) => p.startsWith(`${name}=`));
    return pair?.slice(name.length + 1);
  }

  clear(): void {
    this.#cookies = [];
  }

  #set(url: URL, header: string): void {
    const [pair, ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: Cookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: url.hostname,
      hostOnly: true,
      path: defaultPath(url.pathname),
      expiresAt: Infinity,
      secure: false,
    };
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const [rawKey, ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'domain' && value) {
        cookie.domain = value.replace(/^\./, '').toLowerCase();
        cookie.hostOnly = false;
      } else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expiresAt = Date.parse(value);
      else if (key === 'secure') cookie.secure = true;
    }
    if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
    if (!cookie.hostOnly && !domainMatches(cookie, url.hostname)) return;
    this.#cookies = this.#cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
    if (cookie.expiresAt > Date.now()) this.#cookies.push(cookie);
  }
}

const domainMatches = (c: Cookie, host: string) => host === c.domain || (!c.hostOnly && host.endsWith(`.${c.domain}`));

const pathMatches = (cookiePath: string, path: string) => path === cookiePath || (path.startsWith(cookiePath) && (cookiePath.endsWith('/') || path[cookiePath.length] === '/'));

const defaultPath = (path: string) => (path.lastIndexOf('/') > 0 ? path.slice(0, path.lastIndexOf('/')) : '/');

export interface HtmlForm {
  action: URL;
  method: string;
  /** Named inputs with their values (hidden ones included; text and password inputs usually empty). */
  fields: Record<string, string>;
}

const decode = (s: string) =>
  s.replace(/&(?:#(\d+)|#x([0-9a-f]+)|(amp|lt|gt|quot|apos));/gi, (_m, dec: string, hex: string, name: string) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[name.toLowerCase()]!,
  );

const attributesOf = (tag: string): Record<string, string> =>
  Object.fromEntries([...tag.matchAll(/([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)].map((m) => [m[1].toLowerCase(), decode(m[2] ?? m[3] ?? m[4] ?? '')]));

/** The forms of a page (inputs only: enough for the pages these tests meet). */
export function parseForms(html: string, baseUrl: URL | string): HtmlForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const form = attributesOf(m[1]);
    const fields: Record<string, string> = {};
    for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributesOf(input[1]);
      if (a.name && !['submit', 'button', 'image'].includes(a.type ?? '')) fields[a.name] = a.value ?? '';
    }
    return { action: new URL(form.action ?? '', baseUrl), method: (form.method ?? 'get').toUpperCase(), fields };
  });
}

/** The request a browser makes to submit `form`, with `fill` overriding its fields. */
function formRequest(form: HtmlForm, fill: Record<string, string>): { url: URL; method: string; body?: string } {
  const data = new URLSearchParams({ ...form.fields, ...fill }).toString();
  if (form.method === 'POST') return { url: form.action, method: 'POST', body: data };
  const url = new URL(form.action);
  url.search = data;
  return { url, method: 'GET' };
}

/** Submits the first form of `html` (or `form`), with `fill` overriding its fields; redirects are not followed. */
export async function submitForm(html: string, baseUrl: URL | string, jar: CookieJar, fill: Record<string, string> = {}, form: HtmlForm | undefined = parseForms(html, baseUrl)[0]): Promise<Response> {
  if (!form) throw new Error(`no form on the page at ${String(baseUrl)}`);
  const { url, method, body } = formRequest(form, fill);
  return request(jar, url, method, body);
}

async function request(jar: CookieJar, url: URL, method: string, body?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  jar.store(url, res.headers.getSetCookie());
  return res;
}

export interface ConsentOptions {
  /** The account id typed into the login form (any is accepted); 'alice' by default. */
  login?: string;
  /** Stop before requesting the first URL for which this is true (e.g. the client's redirect URI). */
  stopWhen?: (url: URL) => boolean;
  /** Requests before giving up; 20 by default. */
  maxSteps?: number;
  /** Cookies to start with and to keep (a signed-in session at the provider, credman's cookies). */
  cookieJar?: CookieJar;
  /** Press Cancel on the consent page instead of Continue (the provider answers `access_denied`). */
  deny?: boolean;
}

export interface ConsentResult {
  /** Where the driver stopped. */
  url: URL;
  /** 0 when stopped by `stopWhen` (the URL was not requested). */
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Every URL gone to, in order, ending with `url`. */
  steps: URL[];
}

/** The login or consent form of oidc-provider's devInteractions, recognised by its `prompt` field. */
const interactionForm = (html: string, url: URL) =>
  /\/interaction\/[^/]+$/.test(url.pathname) ? parseForms(html, url).find((f) => f.method === 'POST' && ['login', 'consent'].includes(f.fields.prompt)) : undefined;

/**
 * Goes from `loginLink` through redirects and the provider's login and consent pages, until
 * `stopWhen` matches a URL or a page that is neither a redirect nor an interaction form answers.
 */
export async function completeConsent(loginLink: string, opts: ConsentOptions = {}): Promise<ConsentResult> {
  const jar = opts.cookieJar ?? new CookieJar();
  const maxSteps = opts.maxSteps ?? 20;
  const steps: URL[] = [];
  let next: { url: URL; method: string; body?: string } = { url: new URL(loginLink), method: 'GET' };

  while (steps.length < maxSteps) {
    const { url, method, body } = next;
    steps.push(url);
    if (opts.stopWhen?.(url)) return { url, status: 0, body: '', headers: {}, steps };
    const res = await request(jar, url, method, body);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      // 307/308 repeat the request; the others become a GET, as browsers do.
      next = [307, 308].includes(res.status) ? { url: new URL(location, url), method, body } : { url: new URL(location, url), method: 'GET' };
      continue;
    }
    const html = await res.text();
    const form = interactionForm(html, url);
    if (!form) return { url, status: res.status, body: html, headers: Object.fromEntries(res.headers), steps };
    if (form.fields.prompt === 'consent' && opts.deny) {
      const cancel = /<a\b[^>]*\bhref="([^"]*\/abort)"/.exec(html);
      next = { url: new URL(decode(cancel?.[1] ?? `${url.pathname}/abort`), url), method: 'GET' };
      continue;
    }
    next = formRequest(form, form.fields.prompt === 'login' ? { login: opts.login ?? 'alice', password: 'any' } : {});
  }
  throw new Error(`consent did not finish within ${maxSteps} steps:\n${steps.map(String).join('\n')}`);
}
