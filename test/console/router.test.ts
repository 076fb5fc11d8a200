import { href, parse, type Route } from '../../console/src/router';
import { CONSOLE_BASE, CONSOLE_CALLBACK } from '../../shared/consolePaths';

// The console's addresses: every page's href parses back to that page (so a link and the page it
// opens cannot drift), identifiers with reserved characters survive, and anything else is notFound.

const pages: Array<[string, Route]> = [
  [href.home(), { page: 'home' }],
  [href.providers(), { page: 'providers' }],
  [href.catalogue(), { page: 'catalogue' }],
  [href.provider('github-demo'), { page: 'provider', providerId: 'github-demo' }],
  [href.connection('github-demo', 'octo cat/1'), { page: 'connection', providerId: 'github-demo', connectionId: 'octo cat/1' }],
  [href.webhooks(), { page: 'webhooks' }],
  [href.operations(), { page: 'operations' }],
  [href.me(), { page: 'me' }],
];

it.each(pages)('%s parses back to its page', (path, route) => {
  expect(parse(path)).toEqual(route);
});

it('covers every kind of page but notFound', () => {
  expect(Object.keys(href).length).toBe(pages.length);
});

it('treats the sign-in callback as home and unknown or malformed addresses as notFound', () => {
  expect(parse(CONSOLE_CALLBACK)).toEqual({ page: 'home' });
  for (const path of [`${CONSOLE_BASE}nope`, `${CONSOLE_BASE}webhooks/x`, `${CONSOLE_BASE}providers/a/b`, `${CONSOLE_BASE}providers/a/connections/b/c`, `${CONSOLE_BASE}providers/%E0%A4%A`]) {
    expect(parse(path)).toEqual({ page: 'notFound' });
  }
});
