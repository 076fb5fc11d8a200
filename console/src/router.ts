import { CONSOLE_BASE as BASE } from '../../shared/consolePaths';

// The console's pages and their addresses, in one place: `parse` reads an address, `href` builds
// one, and test/console/router.test.ts holds each to the other.

export type Route =
  | { page: 'home' }
  | { page: 'providers' }
  | { page: 'catalogue' }
  | { page: 'provider'; providerId: string }
  | { page: 'connection'; providerId: string; connectionId: string }
  | { page: 'webhooks' }
  | { page: 'operations' }
  | { page: 'me' }
  | { page: 'notFound' };

const enc = encodeURIComponent;

export const href = {
  home: () => BASE,
  providers: () => `${BASE}providers`,
  catalogue: () => `${BASE}catalogue`,
  provider: (providerId: string) => `${BASE}providers/${enc(providerId)}`,
  connection: (providerId: string, connectionId: string) => `${BASE}providers/${enc(providerId)}/connections/${enc(connectionId)}`,
  webhooks: () => `${BASE}webhooks`,
  operations: () => `${BASE}operations`,
  me: () => `${BASE}me`,
};

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export function parse(pathname: string): Route {
  if (!pathname.startsWith(BASE)) return { page: 'home' };
  const parts = pathname.slice(BASE.length).split('/').filter(Boolean).map(decode);
  if (parts.some((p) => p === undefined)) return { page: 'notFound' };
  const [a, b, c, d, ...rest] = parts as string[];
  if (rest.length) return { page: 'notFound' };
  if (a === undefined || a === 'callback') return { page: 'home' };
  if (a === 'providers' && b === undefined) return { page: 'providers' };
  if (a === 'providers' && c === undefined) return { page: 'provider', providerId: b };
  if (a === 'providers' && c === 'connections' && d !== undefined) return { page: 'connection', providerId: b, connectionId: d };
  if (b !== undefined) return { page: 'notFound' };
  if (a === 'catalogue') return { page: 'catalogue' };
  if (a === 'webhooks') return { page: 'webhooks' };
  if (a === 'operations') return { page: 'operations' };
  if (a === 'me') return { page: 'me' };
  return { page: 'notFound' };
}
