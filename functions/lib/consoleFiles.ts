import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { CONSOLE_BASE } from '../../shared/consolePaths';
import type { Settings } from '../../shared/settings';

// The console (docs/console.md): the built single-page app (console/, `npm run build:console` into
// dist/console) served by the app itself at /api/console/. Only files found in the build when first
// asked are served, looked up by name in that list: a request path never reaches the file system,
// so no `..`, encoded or not, can leave the folder. A path without a file extension is a page of
// the app: index.html answers it (the app routes on the client).

const PREFIX = CONSOLE_BASE.slice(0, -1);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names built assets `name-<8+ char hash>.ext`: their content never changes under that name. */
const HASHED = /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly cache: string;
}

interface ConsoleFiles {
  readonly files: ReadonlyMap<string, StaticFile>;
  readonly index: string | undefined;
}

/** Every servable file under `root`, by its path relative to it (`/`-separated). */
function loadConsoleFiles(root: string): ConsoleFiles {
  const files = new Map<string, StaticFile>();
  let entries: string[] = [];
  try {
    entries = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const entry of entries) {
    const path = relative(root, join(root, entry)).split(sep).join('/');
    const type = TYPES[extname(path).toLowerCase()];
    // Dot-files and unknown types (source maps, stray files) are not served.
    if (!type || path.split('/').some((s) => s.startsWith('.'))) continue;
    let body: Buffer;
    try {
      body = readFileSync(join(root, entry));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') continue;
      throw err;
    }
    files.set(path, { body, type, cache: HASHED.test(path) ? IMMUTABLE : 'no-cache' });
  }
  const index = files.get('index.html')?.body.toString('utf8');
  files.delete('index.html'); // answered per request (its nonce)
  return { files, index };
}

/**
 * The Content-Security-Policy of every answer: scripts and styles of this origin only (the style
 * elements Fluent UI inserts at run time carry the page's nonce), no frames, no plugins, and
 * connections to this origin and the sign-in authority.
 */
export function contentSecurityPolicy(nonce: string, authority: string | undefined): string {
  const connect = ["'self'", ...(authority ? [new URL(authority).origin] : [])];
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${[...new Set(connect)].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** Serves the console from `root` (the build beside the app by default). */
export function serveConsoleFrom(root: string, consoleSettings: () => Settings['console']) {
  let files: ConsoleFiles | undefined;
  return async (request: HttpRequest): Promise<HttpResponseInit> => {
    const config = consoleSettings();
    files ??= loadConsoleFiles(root);
    const nonce = randomBytes(16).toString('base64');
    const security = {
      'Content-Security-Policy': contentSecurityPolicy(nonce, config.oidc?.authority),
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
    };
    const path = consolePath(request.url);
    if (path === 'config.json') {
      // What the console needs to sign in; public by nature (a SPA's client id and authority are).
      const body = config.oidc ? { configured: true, ...config.oidc } : { configured: false };
      return { status: 200, headers: { ...security, 'Content-Type': TYPES['.json'], 'Cache-Control': 'no-store' }, body: JSON.stringify(body) };
    }
    const file = path === undefined ? undefined : files.files.get(path);
    if (file) return { status: 200, headers: { ...security, 'Content-Type': file.type, 'Cache-Control': file.cache }, body: file.body };
    // A missing file (a stale hashed asset, a typo) is a 404, never the page: a script tag must not get HTML.
    if (path === undefined || /\.[A-Za-z0-9]+$/.test(path) || files.index === undefined) {
      const message = files.index === undefined ? 'The console is not built (npm run build:console).' : 'Not found.';
      return { status: 404, headers: { ...security, 'Content-Type': TYPES['.txt'], 'Cache-Control': 'no-store' }, body: message };
    }
    return {
      status: 200,
      headers: { ...security, 'Content-Type': TYPES['.html'], 'Cache-Control': 'no-cache' },
      body: files.index.replaceAll('%CSP_NONCE%', nonce),
    };
  };
}

/**
 * The file a request asks for, relative to the console (`''` for the app's root), or undefined
 * when the path cannot name a file of the build: an empty, `.` or `..` segment, or an escape.
 */
export function consolePath(url: string): string | undefined {
  const { pathname } = new URL(url);
  // The host matches routes ignoring case.
  const prefix = pathname.slice(0, PREFIX.length).toLowerCase();
  if (prefix !== PREFIX || (pathname.length > PREFIX.length && pathname[PREFIX.length] !== '/')) return undefined;
  const segments = pathname.slice(PREFIX.length + 1).split('/');
  if (segments.at(-1) === '') segments.pop();
  const decoded: string[] = [];
  for (const s of segments) {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      return undefined;
    }
    if (d === '' || d === '.' || d === '..' || /[\\/\0]/.test(d)) return undefined;
    decoded.push(d);
  }
  return decoded.join('/');
}
