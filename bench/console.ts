import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium } from '../local/chromium';
import { runBench, spawnChild } from './children';

// `npm run bench:console`: the console's built files (bytes, gzip) and its first load in Chromium
// (Debian's /usr/bin/chromium) from the local host: a fresh browser context each time (no cache),
// to the first contentful paint and to the sign-in page being usable.

const ROOT = resolve(__dirname, '..', '..');
const BUILD = join(ROOT, 'dist', 'console');
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

runBench('console', async (work, children) => {
  const files = readdirSync(BUILD, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(js|css|html)$/.test(f));
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const bytes = readFileSync(join(BUILD, f));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
    console.log(`  ${f.padEnd(32)} ${String(bytes.length).padStart(9)} B  ${String(gzipSync(bytes).length).padStart(8)} B gzip`);
  }
  console.log(`console bundle: ${raw} B, ${gzip} B gzip (${(gzip / 1024).toFixed(1)} KiB) in ${files.length} files`);

  const host = await spawnChild(
    [join(ROOT, 'dist', 'local', 'start.js')],
    { CREDMAN_LOCAL_PORT: '0', CREDMAN_LOCAL_DATA_DIR: work, CREDMAN_LOCAL_TIMERS: 'false', CREDMAN_LOCAL_DURABLE: 'false' },
    /listening on http:\/\/localhost:(\d+)\/api/,
  );
  children.push(host);
  const browser = await launchChromium();
  try {
    const fcp: number[] = [];
    const usable: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const started = performance.now();
      await page.goto(`http://localhost:${host.port}/api/console/`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      const ready = performance.now() - started;
      const paint = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
      await context.close();
      if (i === 0) continue; // the first warms the host's file list and Chromium itself
      usable.push(ready);
      fcp.push(paint);
    }
    console.log(`first load in Chromium (median of ${RUNS}, fresh context, loopback): first contentful paint ${median(fcp).toFixed(0)} ms, sign-in button usable ${median(usable).toFixed(0)} ms`);
  } finally {
    await browser.close();
  }
});
