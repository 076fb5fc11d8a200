import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvocationContext } from '@azure/functions';
import { renderError } from '../../functions/lib/http';
import { openApiDocument } from '../../shared/api/openapi';
import { PAGE_HEADERS } from '../../shared/consent/pages';
import { ConnectionNotFoundError, DecryptionError, ERROR_CODES, LoginLinkUsedError, TooManyRequestsError } from '../../shared/errors';

// The closed error catalogue (shared/errors.ts): every listed code is used, nothing bypasses the
// list with a cast, /openapi.json publishes exactly the list, and the one renderer answers the same
// status, code, message, headers and log lines in JSON and in HTML.

const ROOT = join(__dirname, '..', '..');

function sources(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [{ path, text: readFileSync(join(ROOT, path), 'utf8') }] : [];
  });
}

const code = [...sources('shared'), ...sources('functions')];
const LIST = /export const ERROR_CODES = \[[\s\S]*?\] as const;/;

describe('the error catalogue', () => {
  it('lists each code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it.each([...ERROR_CODES])('%s is used outside the list (thrown, rendered or passed on)', (c) => {
    const users = code.filter((f) => new RegExp(`['"\`]${c}['"\`]`).test(f.text.replace(LIST, ''))).map((f) => f.path);
    expect(users).not.toEqual([]);
  });

  it('is never bypassed with a type assertion', () => {
    const casts = code.filter((f) => /\bas\s+(ErrorCode|InternalErrorCode|DetailCode|ConnectionErrorCode)\b/.test(f.text)).map((f) => f.path);
    expect(casts).toEqual([]);
  });

  it('is what /openapi.json publishes as Error.code', () => {
    const doc = openApiDocument() as { components: { schemas: { Error: { properties: { error: { properties: { code: { enum?: unknown } } } } } } } };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual([...ERROR_CODES]);
  });
});

describe('the one error renderer', () => {
  const run = (err: unknown, format: 'json' | 'html') => {
    const logs: string[] = [];
    const context = new InvocationContext({ invocationId: 'inv-1', logHandler: (level, ...args) => logs.push(`${level} ${args.join(' ')}`) });
    return { response: renderError(err, context, format), logs };
  };
  // The body's own headers: the content type, and the page's CSP, framing and caching headers.
  const withoutBody = (r: ReturnType<typeof run>) => {
    const headers = Object.entries(r.response.headers as Record<string, string>).filter(([name]) => name !== 'Content-Type' && !(name in PAGE_HEADERS));
    return { status: r.response.status, headers, logs: r.logs };
  };

  it.each([
    ['a 404', new ConnectionNotFoundError('p', 'c')],
    ['a consent error', new LoginLinkUsedError()],
    ['a 429 with Retry-After', new TooManyRequestsError('Slow down.', 3)],
    ['an unexposed CredmanError', new DecryptionError('Tampered')],
    ['an unknown error', Object.assign(new TypeError('secret detail'), { code: 'EBOOM' })],
  ])('%s: same status, headers and logs in JSON and HTML; only the body differs', (_name, err) => {
    const json = run(err, 'json');
    const html = run(err, 'html');
    expect(withoutBody(html)).toEqual(withoutBody(json));
    const body = (json.response.jsonBody as { error: { code: string; message: string } }).error;
    expect((json.response.headers as Record<string, string>)['Content-Type']).toBe('application/json; charset=utf-8');
    expect(html.response.headers).toEqual(expect.objectContaining(PAGE_HEADERS));
    expect(html.response.body).toContain(`Code: ${body.code}`);
    expect(html.response.body as string).not.toContain('secret detail');
    expect(JSON.stringify(json.response.jsonBody)).not.toContain('secret detail');
  });

  it('answers an unexposed error as InternalError with the same wording in both formats', () => {
    const json = run(new DecryptionError('Tampered'), 'json');
    const html = run(new DecryptionError('Tampered'), 'html');
    const message = 'The server failed to handle the request (invocation inv-1).';
    expect(json.response.jsonBody).toEqual({ error: { code: 'InternalError', message, details: [] } });
    expect(html.response.body).toContain(`<p>${message}</p>`);
    expect(json.logs).toEqual(['error Unhandled DecryptionError (DecryptionTampered) in invocation inv-1']);
  });
});

describe('docs/api.md', () => {
  const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Error codes'));

  it('documents every code of the list, and its table lists no other', () => {
    const undocumented = ERROR_CODES.filter((c) => !section.includes(`\`${c}\``));
    expect(undocumented).toEqual([]);
    const rows = section.split('\n').filter((line) => /^\| `\w+` \|/.test(line));
    const tabled = rows.map((line) => /^\| `(\w+)` \|/.exec(line)![1]);
    expect(tabled.filter((c) => !(ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
    expect(tabled.length).toBeGreaterThan(20);
  });
});
