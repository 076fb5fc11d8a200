import { z } from 'zod';
import { parseAllowList } from './net/destination';

// Every setting the app reads, with its default and why it exists. `loadSettings` runs once at
// start-up; nothing else reads process.env. local.settings.sample.json lists the same names.

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);

const trustedIssuer = z
  .object({
    issuer: z.url(),
    jwksUri: z.url(),
    /** Audiences accepted from this issuer; defaults to CREDMAN_AUTH_AUDIENCES. */
    audiences: z.array(z.string().min(1)).optional(),
    /** `entra` when the issuer's tid/oid/groups/roles claims are Entra ID's; default from the issuer URL. */
    kind: z.enum(['entra', 'oidc']).optional(),
    /**
     * Other (`oidc`) issuers: whether their tokens can be a signed-in person's (self-service). Off by
     * default: workload tokens (Kubernetes, GitHub Actions) do not say they are not a person's.
     */
    people: z.boolean().optional(),
  })
  .strict();

const issuersJson = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON array of { issuer, jwksUri, audiences? }' });
      return z.NEVER;
    }
  })
  .pipe(z.array(trustedIssuer).min(1));

/** Where the console signs people in: an OpenID provider, the console's client id there, the scopes it asks for. */
const consoleOidcJson = z
  .string()
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object { authority, clientId, scopes }' });
      return z.NEVER;
    }
  })
  .pipe(z.object({ authority: z.url(), clientId: z.string().min(1), scopes: z.string().min(1) }).strict());

const positiveInt = (def: number) => z.coerce.number().int().positive().default(def);

export const settingsSchema = z
  .object({
    /** Table Storage connection string (Azurite locally). Either this or CREDMAN_TABLE_ENDPOINT. */
    CREDMAN_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    /** Table endpoint reached with the app's managed identity, e.g. https://acct.table.core.windows.net. */
    CREDMAN_TABLE_ENDPOINT: z.url().optional(),
    /** Prefix of every table name, so that several instances (or test runs) share an account. */
    CREDMAN_TABLE_PREFIX: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]{0,29}$/)
      .default('credman'),
    /** Key-encryption key: `keyvault` in Azure, `local` (a key file, not for production) on a laptop. */
    CREDMAN_KEK_PROVIDER: z.enum(['keyvault', 'local']).default('keyvault'),
    /** Key Vault key identifier without version, e.g. https://vault.vault.azure.net/keys/credman-kek. */
    CREDMAN_KEY_VAULT_KEY_ID: z.url().optional(),
    /** Local key file, created on first run when CREDMAN_KEK_PROVIDER=local. */
    CREDMAN_LOCAL_KEK_FILE: z.string().min(1).default('.credman/local-kek.json'),
    /** How long an unwrapped data key stays in memory, and how many are kept. */
    CREDMAN_DEK_CACHE_TTL_SECONDS: positiveInt(900),
    CREDMAN_DEK_CACHE_MAX_ENTRIES: positiveInt(10000),
    /** Issuers whose bearer tokens are accepted (JSON array of { issuer, jwksUri, audiences?, kind? }). */
    CREDMAN_AUTH_ISSUERS: issuersJson,
    /** Audiences accepted by default (comma-separated), e.g. api://credman. */
    CREDMAN_AUTH_AUDIENCES: csv.pipe(z.array(z.string()).min(1)),
    /** App role (in the `roles` claim) that the management plane requires. */
    CREDMAN_ADMIN_ROLE: z.string().min(1).default('Credman.Admin'),
    /** App role that lets an app create connect sessions for its users and confirm their consent codes. */
    CREDMAN_CONNECT_ROLE: z.string().min(1).default('Credman.Connect'),
    /** Clock skew tolerated on exp/nbf, in seconds. */
    CREDMAN_AUTH_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(60),
    /** The app's own identity (its managed identity), given an access policy on every new connection. */
    CREDMAN_APP_TENANT_ID: z.uuid(),
    CREDMAN_APP_OBJECT_ID: z.uuid(),
    /** Public base URL of the app (no trailing slash); defaults to https://$WEBSITE_HOSTNAME. */
    CREDMAN_PUBLIC_BASE_URL: z.url().optional(),
    /** Set by App Service / Functions in Azure. */
    WEBSITE_HOSTNAME: z.string().optional(),
    /** Origins (besides the app's own) that a login link may send the browser back to, comma-separated. */
    CREDMAN_ALLOWED_REDIRECT_ORIGINS: csv.pipe(z.array(z.url())).default([]),
    /** Per-attempt timeout of calls to identity providers, and retries after a transient failure. */
    CREDMAN_IDP_TIMEOUT_SECONDS: z.coerce.number().positive().max(60).default(10),
    CREDMAN_IDP_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
    /** Identity-provider calls allowed per connection per minute (API Management's limit is 250). */
    CREDMAN_IDP_CALLS_PER_MINUTE: positiveInt(250),
    /**
     * Identity providers on a private network: host names (exact), IP addresses or CIDR ranges,
     * comma-separated, that token, discovery and registration calls may reach (over http too) even
     * though CREDMAN_ALLOW_PRIVATE_NETWORKS is false. Webhooks never use it.
     */
    CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: csv
      .superRefine((entries, ctx) => {
        try {
          parseAllowList(entries);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `${(err as Error).message} Give host names, IP addresses or CIDR ranges.` });
        }
      })
      .default([]),
    /**
     * A caller's `forceRefresh` is satisfied by a token obtained within this many seconds (by any
     * instance): looping it cannot make the identity provider issue more. 0 turns it off.
     */
    CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    /** Forced refreshes that may reach the identity provider per minute: per caller on one connection (in each instance's memory)… */
    CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: positiveInt(3),
    /** …per connection (in its row, across instances)… */
    CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: positiveInt(6),
    /** …and per OAuth client id of a provider, over all its connections (a row of its own, across instances). */
    CREDMAN_FORCE_REFRESH_PER_CLIENT_PER_MINUTE: positiveInt(60),
    /** Keep access tokens and access policies in memory (`false` only to measure the uncached path). */
    CREDMAN_TOKEN_CACHE: z.enum(['true', 'false']).default('true'),
    /** How long this instance trusts its copy of a connection's access policies, in seconds. */
    CREDMAN_POLICY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
    /**
     * Whether outbound calls (webhook deliveries, identity-provider token, discovery and
     * registration endpoints) may be http or reach loopback, link-local (cloud metadata), private,
     * CGNAT or other non-public addresses. Off in Azure, so that an admin cannot point credman at
     * the instance's own network; the local host turns it on for receivers and providers on the laptop.
     */
    CREDMAN_ALLOW_PRIVATE_NETWORKS: z.enum(['true', 'false']).default('false'),
    /** `connection.expiringSoon` fires when a refresh token or client secret ends within this many days. */
    CREDMAN_EXPIRY_WARNING_DAYS: z.coerce.number().int().min(1).max(365).default(14),
    /** A connection counts as in use (its lifecycle refreshes ahead) for this many hours after a token read. */
    CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS: z.coerce.number().int().min(1).max(8760).default(24),
    /** While a connection waits for consent, its reauthorization notice is repeated this often (seconds). */
    CREDMAN_LIFECYCLE_REMINDER_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(30 * 86400)
      .default(86400),
    /** The console's sign-in: JSON { authority, clientId, scopes }; unset, the console says it is not configured. */
    CREDMAN_CONSOLE_OIDC: consoleOidcJson.optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.CREDMAN_STORAGE_CONNECTION_STRING && !s.CREDMAN_TABLE_ENDPOINT) {
      ctx.addIssue({ code: 'custom', path: ['CREDMAN_TABLE_ENDPOINT'], message: 'set CREDMAN_TABLE_ENDPOINT or CREDMAN_STORAGE_CONNECTION_STRING' });
    }
    if (s.CREDMAN_KEK_PROVIDER === 'keyvault' && !s.CREDMAN_KEY_VAULT_KEY_ID) {
      ctx.addIssue({ code: 'custom', path: ['CREDMAN_KEY_VAULT_KEY_ID'], message: 'required when CREDMAN_KEK_PROVIDER=keyvault' });
    }
    if (!s.CREDMAN_PUBLIC_BASE_URL && !s.WEBSITE_HOSTNAME) {
      ctx.addIssue({ code: 'custom', path: ['CREDMAN_PUBLIC_BASE_URL'], message: 'set CREDMAN_PUBLIC_BASE_URL (or run where WEBSITE_HOSTNAME is set)' });
    }
  });

export interface Settings {
  readonly storage: { readonly connectionString?: string; readonly tableEndpoint?: string; readonly tablePrefix: string };
  readonly kek: { readonly provider: 'keyvault'; readonly keyId: string } | { readonly provider: 'local'; readonly file: string };
  readonly dekCache: { readonly ttlMs: number; readonly maxEntries: number };
  readonly auth: {
    readonly issuers: ReadonlyArray<{ readonly issuer: string; readonly jwksUri: string; readonly audiences: readonly string[]; readonly kind?: 'entra' | 'oidc'; readonly people?: boolean }>;
    readonly adminRole: string;
    readonly connectRole: string;
    readonly clockSkewSeconds: number;
  };
  readonly appIdentity: { readonly tenantId: string; readonly objectId: string };
  readonly publicBaseUrl: string;
  readonly consent: { readonly allowedRedirectOrigins: readonly string[] };
  readonly identityProviders: {
    readonly timeoutMs: number;
    readonly retries: number;
    readonly callsPerMinute: number;
    /** Allow-list entries (see parseAllowList) for identity providers on private networks. */
    readonly allowedPrivateHosts: readonly string[];
  };
  readonly forceRefresh: {
    readonly minIntervalMs: number;
    readonly perCallerPerMinute: number;
    readonly perConnectionPerMinute: number;
    readonly perClientPerMinute: number;
  };
  readonly tokenCache: { readonly enabled: boolean; readonly policyTtlMs: number };
  /** Every outbound call: webhook deliveries and identity-provider calls. */
  readonly outbound: { readonly allowPrivateNetworks: boolean };
  readonly lifecycle: { readonly expiryWarningMs: number; readonly activeWindowMs: number; readonly reminderMs: number };
  /** The console's OpenID Connect sign-in (authorization code + PKCE), when configured. */
  readonly console: { readonly oidc?: { readonly authority: string; readonly clientId: string; readonly scopes: string } };
}

export class SettingsError extends Error {
  /** Each problem as `NAME: what is wrong`; no problem quotes a value. */
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }

  /** The settings at fault, by name. */
  get names(): string[] {
    return [...new Set(this.problems.map((p) => p.split(':')[0]))];
  }
}

/**
 * Settings that were renamed: one still set is refused, naming its successor, rather than
 * ignored (a deployment that relied on it would silently change behaviour).
 */
const RENAMED: Record<string, string> = {
  CREDMAN_WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'CREDMAN_ALLOW_PRIVATE_NETWORKS (it now covers identity-provider calls too)',
};

/** Validates the environment once; lists every missing or malformed setting in one error. */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  // App settings are often present but blank (a template's placeholders): blank means unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const renamed = Object.keys(RENAMED)
    .filter((k) => k in present)
    .map((k) => `${k}: renamed; set ${RENAMED[k]} instead`);
  const parsed = settingsSchema.safeParse(present);
  if (!parsed.success || renamed.length) {
    throw new SettingsError([...renamed, ...(parsed.error?.issues ?? []).map((i) => `${i.path.length ? String(i.path[0]) : 'settings'}: ${i.message}`)]);
  }
  const s = parsed.data;
  const audiences = s.CREDMAN_AUTH_AUDIENCES;
  return deepFreeze({
    storage: {
      connectionString: s.CREDMAN_STORAGE_CONNECTION_STRING,
      tableEndpoint: s.CREDMAN_TABLE_ENDPOINT,
      tablePrefix: s.CREDMAN_TABLE_PREFIX,
    },
    kek: s.CREDMAN_KEK_PROVIDER === 'keyvault' ? { provider: 'keyvault' as const, keyId: s.CREDMAN_KEY_VAULT_KEY_ID as string } : { provider: 'local' as const, file: s.CREDMAN_LOCAL_KEK_FILE },
    dekCache: { ttlMs: s.CREDMAN_DEK_CACHE_TTL_SECONDS * 1000, maxEntries: s.CREDMAN_DEK_CACHE_MAX_ENTRIES },
    auth: {
      issuers: s.CREDMAN_AUTH_ISSUERS.map((i) => ({ ...i, audiences: i.audiences ?? audiences })),
      adminRole: s.CREDMAN_ADMIN_ROLE,
      connectRole: s.CREDMAN_CONNECT_ROLE,
      clockSkewSeconds: s.CREDMAN_AUTH_CLOCK_SKEW_SECONDS,
    },
    appIdentity: { tenantId: s.CREDMAN_APP_TENANT_ID, objectId: s.CREDMAN_APP_OBJECT_ID },
    publicBaseUrl: (s.CREDMAN_PUBLIC_BASE_URL ?? `https://${s.WEBSITE_HOSTNAME}`).replace(/\/+$/, ''),
    consent: { allowedRedirectOrigins: s.CREDMAN_ALLOWED_REDIRECT_ORIGINS.map((o) => new URL(o).origin) },
    identityProviders: {
      timeoutMs: Math.round(s.CREDMAN_IDP_TIMEOUT_SECONDS * 1000),
      retries: s.CREDMAN_IDP_RETRIES,
      callsPerMinute: s.CREDMAN_IDP_CALLS_PER_MINUTE,
      allowedPrivateHosts: s.CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS,
    },
    forceRefresh: {
      minIntervalMs: s.CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS * 1000,
      perCallerPerMinute: s.CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE,
      perConnectionPerMinute: s.CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE,
      perClientPerMinute: s.CREDMAN_FORCE_REFRESH_PER_CLIENT_PER_MINUTE,
    },
    tokenCache: { enabled: s.CREDMAN_TOKEN_CACHE === 'true', policyTtlMs: s.CREDMAN_POLICY_CACHE_SECONDS * 1000 },
    outbound: { allowPrivateNetworks: s.CREDMAN_ALLOW_PRIVATE_NETWORKS === 'true' },
    lifecycle: {
      expiryWarningMs: s.CREDMAN_EXPIRY_WARNING_DAYS * 24 * 3600 * 1000,
      activeWindowMs: s.CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS * 3600 * 1000,
      reminderMs: s.CREDMAN_LIFECYCLE_REMINDER_SECONDS * 1000,
    },
    console: s.CREDMAN_CONSOLE_OIDC ? { oidc: { ...s.CREDMAN_CONSOLE_OIDC, authority: s.CREDMAN_CONSOLE_OIDC.authority.replace(/\/+$/, '') } } : {},
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
