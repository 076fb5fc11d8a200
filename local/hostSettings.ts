import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

// Settings of the local host only (never read in Azure). Like `func start`, the host merges the
// `Values` of local.settings.json into the environment, the real environment winning.

const hostSchema = z.object({
  /** Port of the local host; the API is at http://localhost:<port>/api. */
  CREDMAN_LOCAL_PORT: z.coerce.number().int().min(0).max(65535).default(7071),
  /** Folder for the local KEK file, the dev issuer's key and Azurite's files (when persisted). */
  CREDMAN_LOCAL_DATA_DIR: z.string().min(1).default('.credman'),
  /** Run durable orchestrations (connection lifecycles…); `false` leaves them out, e.g. for tests of request-driven refresh. */
  CREDMAN_LOCAL_DURABLE: z.enum(['true', 'false']).default('true'),
  /** Run timer triggers (housekeeping…) on their schedules; `false` leaves them out. */
  CREDMAN_LOCAL_TIMERS: z.enum(['true', 'false']).default('true'),
  /** Lifetime of the local OpenID provider's access tokens (the console renews them 60 s before the end). */
  CREDMAN_LOCAL_SIGNIN_TOKEN_SECONDS: z.coerce.number().int().min(61).max(86400).default(3600),
});

export interface LocalHostSettings {
  port: number;
  dataDir: string;
  durable: boolean;
  timers: boolean;
  signInTokenSeconds: number;
}

export function localEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  const file = `${cwd}/local.settings.json`;
  let values: Record<string, string> = {};
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> };
    values = parsed.Values ?? {};
  }
  return { ...values, ...process.env };
}

export function loadLocalHostSettings(env: Record<string, string | undefined>): LocalHostSettings {
  const parsed = hostSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid local host setting: ${parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  return {
    port: parsed.data.CREDMAN_LOCAL_PORT,
    dataDir: parsed.data.CREDMAN_LOCAL_DATA_DIR,
    durable: parsed.data.CREDMAN_LOCAL_DURABLE === 'true',
    timers: parsed.data.CREDMAN_LOCAL_TIMERS === 'true',
    signInTokenSeconds: parsed.data.CREDMAN_LOCAL_SIGNIN_TOKEN_SECONDS,
  };
}

/** The dev issuer lives on the local host itself, outside /api, like an IdP's well-known paths. */
export function devIssuerUrl(port: number): string {
  return `http://localhost:${port}/dev-issuer`;
}

export const DEV_AUDIENCE = 'api://credman';
