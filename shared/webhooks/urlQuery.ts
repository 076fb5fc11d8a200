// A subscription URL's query is a credential as often as not: a Logic Apps callback URL carries
// its SAS signature there (`…?api-version=…&sp=…&sv=…&sig=…`), an Azure Function its `code`. The
// store seals everything after the path and keeps, in plain, the URL with each query value
// replaced; that redacted form is all that responses, logs and errors ever show.

const MASK = '***';

/** The URL with every query value (a parameter without `=` entirely) and any fragment replaced, and the part it replaced. */
export function splitUrl(raw: string): { redacted: string; tail: string } {
  const url = new URL(raw);
  const tail = url.search + url.hash;
  if (!tail) return { redacted: url.href, tail: '' };
  const params = url.search
    .slice(1)
    .split('&')
    .filter(Boolean)
    .map((p) => (p.includes('=') ? `${p.slice(0, p.indexOf('='))}=${MASK}` : MASK));
  const base = url.href.slice(0, url.href.length - tail.length);
  return { redacted: `${base}${params.length ? `?${params.join('&')}` : ''}${url.hash ? `#${MASK}` : ''}`, tail };
}

/** The full URL back from its redacted form and the sealed tail. */
export function joinUrl(redacted: string, tail: string): string {
  const url = new URL(redacted);
  return url.href.slice(0, url.href.length - (url.search + url.hash).length) + tail;
}
