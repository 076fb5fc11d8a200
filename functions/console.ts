import { resolve } from 'node:path';
import { loadSettings, type Settings } from '../shared/settings';
import type { Call } from './lib/api';
import { serveConsoleFrom } from './lib/consoleFiles';

// The console's files (functions/lib/consoleFiles.ts), built beside the app into dist/console.

const ROOT = resolve(__dirname, '..', 'console');

let settings: Settings['console'] | undefined;
// Settings only: the console's page must load while storage or Key Vault are away.
const serve = serveConsoleFrom(ROOT, () => (settings ??= loadSettings(process.env).console));

async function serveConsole(call: Call<'console'>) {
  return serve(call.request);
}
export { serveConsole as console };
