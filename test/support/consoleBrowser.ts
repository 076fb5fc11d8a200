import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

// The console in real Chromium (test/browser): a fresh browser on the local host's console, the
// local OpenID provider's sign-in, and an axe-core accessibility scan.

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * A new browser (no session), its console's messages kept (a CSP violation is an error there), and
 * every request off this machine refused and recorded (the sign-in must need none).
 */
export async function openConsole(browser: Browser, baseUrl: string): Promise<{ page: Page; errors: string[]; outside: string[] }> {
  // Reduced motion: Fluent then skips its transitions, so a scan never meets a dialog half faded in.
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 }, reducedMotion: 'reduce' });
  const outside: string[] = [];
  await context.route(
    (url) => url.hostname !== 'localhost' && url.hostname !== '127.0.0.1',
    (route) => {
      outside.push(route.request().url());
      return route.abort();
    },
  );
  const page = await context.newPage();
  const errors: string[] = [];
  const ours = () => page.url().startsWith(`${baseUrl}/api/console`);
  page.on('console', (m) => ours() && m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${baseUrl}/api/console/`);
  return { page, errors, outside };
}

/** The local OpenID provider's own pages: login (any password), then consent. */
export async function signIn(page: Page, baseUrl: string, login: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/oidc\/interaction\//);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${baseUrl}/api/console/`);
}

/** The serious and critical findings of an axe-core scan of the page as it is now. */
export async function axeViolations(page: Page): Promise<{ id: string; impact: string; nodes: number }[]> {
  // Evaluated through the debugging protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: { include: Document[]; exclude: string[][] }) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe;
    // Tabster's focus sentinels (Fluent's focus management) are focusable and aria-hidden by design,
    // a known false positive of aria-hidden-focus (microsoft/tabster#288): left out, nothing else.
    const result = await axe.run({ include: [document], exclude: [['[data-tabster-dummy]']] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
