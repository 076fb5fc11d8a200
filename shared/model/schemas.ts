import { z } from 'zod';
import { ERROR_CODES } from '../errors';

// Request and response schemas: the same objects validate requests and generate /openapi.json.
// Objects are strict, so an unknown or misspelled field is a 400 naming it, never silently dropped.

const guid = z.uuid();

/** A provider's self-service: signed-in people may create their own connection under it (docs/api.md, "Self-service connections"). */
export const selfServiceSchema = z
  .object({
    enabled: z.boolean(),
    appIds: z.array(guid).max(50).optional().meta({ description: "The client applications allowed to fetch these people's tokens (as an access policy's appIds); absent: any application of theirs." }),
  })
  .strict()
  .meta({ id: 'SelfService' });
export type SelfService = z.infer<typeof selfServiceSchema>;

/** Where the proxy sends a connection's API calls: the provider's API root, chosen by admins, never by callers. */
export const apiBaseUrlSchema = z
  .url()
  .max(2048)
  .refine((u) => !/[?#]/.test(u), 'must have no query or fragment')
  .meta({ description: "The provider's API root for the proxy (https; checked by the destination guard). Absent: the template's, if it has one." });

const parameterMap = z.record(z.string().min(1).max(100), z.string().max(4096)).meta({ description: 'Template parameters by name; secret ones are write-only.' });

export const providerPutSchema = z
  .object({
    properties: z
      .object({
        displayName: z.string().min(1).max(200).optional(),
        identityProvider: z.string().min(1).max(80),
        selfService: selfServiceSchema.optional(),
        apiBaseUrl: apiBaseUrlSchema.optional(),
        oauth2: z
          .object({
            grantTypes: z
              .object({
                authorizationCode: parameterMap.optional(),
                clientCredentials: parameterMap.optional(),
              })
              .strict(),
          })
          .strict(),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'ProviderPut' });
export type ProviderPut = z.infer<typeof providerPutSchema>;

export const connectionPutSchema = z
  .object({
    properties: z
      .object({
        displayName: z.string().min(1).max(200).optional(),
        authorizationType: z.literal('OAuth2'),
        oauth2grantType: z.enum(['AuthorizationCode', 'ClientCredentials']),
        parameters: parameterMap.optional(),
        agentTokenAccess: z.boolean().optional().meta({
          description:
            "Lets the MCP server's get_token tool return the connection's raw access token to a caller holding an access policy on it (docs/mcp.md). Absent: off. Sealed with the connection's configuration.",
        }),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'ConnectionPut' });
export type ConnectionPut = z.infer<typeof connectionPutSchema>;

/** PUT me/providers/{providerId}/connection: everything else is decided by credman. */
export const myConnectionPutSchema = z
  .object({
    properties: z
      .object({ displayName: z.string().min(1).max(200).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'MyConnectionPut' });

export const END_USER_ID_PATTERN = /^[A-Za-z0-9._@:|+=/-]{1,200}$/;

export const accessPolicyPutSchema = z
  .object({
    properties: z.union([
      z
        .object({ tenantId: guid, objectId: guid, appIds: z.array(guid).max(50).optional() })
        .strict()
        .meta({ description: 'An Entra identity: user, group, service principal or managed identity.' }),
      z
        .object({ issuer: z.url().max(400), subject: z.string().min(1).max(400) })
        .strict()
        .meta({ description: 'A workload of another trusted OpenID issuer.' }),
    ]),
  })
  .strict()
  .meta({ id: 'AccessPolicyPut' });
export type AccessPolicyPut = z.infer<typeof accessPolicyPutSchema>;

/**
 * The person of an app a connect session connects (docs/api.md, "Connect sessions"): the app's own
 * id for them, names for display. The id's characters keep `$filter=endUser/id eq '…'` unambiguous.
 */
export const endUserSchema = z
  .object({
    id: z.string().regex(END_USER_ID_PATTERN).meta({ description: "The app's id of the person: 1-200 letters, digits or . _ - @ : | + = /" }),
    displayName: z.string().min(1).max(200).optional(),
    email: z.email().max(320).optional(),
  })
  .strict()
  .meta({ id: 'EndUser' });
export type EndUser = z.infer<typeof endUserSchema>;

export const topSchema = z.coerce.number().int().min(1).max(100).default(50);

// ---- responses ----

const resource = <T extends z.ZodType>(type: string, properties: T) => z.object({ id: z.string(), name: z.string(), type: z.literal(type), properties });

export const providerSchema = resource(
  'providers',
  z.object({
    displayName: z.string().optional(),
    identityProvider: z.string(),
    selfService: z.object({ enabled: z.boolean(), appIds: z.array(z.string()).optional() }).optional(),
    apiBaseUrl: z.url().optional().meta({ description: "The API root an admin set (the proxy falls back to the template's)." }),
    oauth2: z.object({
      redirectUrl: z.url(),
      grantTypes: z.object({
        authorizationCode: z.record(z.string(), z.string()).optional(),
        clientCredentials: z.record(z.string(), z.string()).optional(),
      }),
    }),
    createdOn: z.iso.datetime(),
    changedOn: z.iso.datetime(),
  }),
).meta({ id: 'Provider' });
export type ProviderResource = z.infer<typeof providerSchema>;

export const connectionStatusSchema = z.enum(['Pending', 'Connected', 'Error']);
export type ConnectionStatus = z.infer<typeof connectionStatusSchema>;

/** The person who created a self-service connection: Entra tenant + object id, or issuer + subject; the name for display only. */
export const connectionOwnerSchema = z
  .object({
    tenantId: z.string().optional(),
    objectId: z.string().optional(),
    issuer: z.string().optional(),
    subject: z.string().optional(),
    displayName: z.string().optional(),
  })
  .meta({ id: 'ConnectionOwner' });
export type ConnectionOwner = z.infer<typeof connectionOwnerSchema>;

/** What a connection's lifecycle does next (shared/lifecycle/plan.ts), for display. */
export const connectionLifecycleSchema = z
  .object({
    action: z.enum(['refresh', 'sleep', 'awaitConsent', 'stop']),
    wakeOn: z.iso.datetime().optional(),
    reason: z.string().optional(),
  })
  .meta({ id: 'ConnectionLifecycle' });
export type ConnectionLifecycle = z.infer<typeof connectionLifecycleSchema>;

export const connectionSchema = resource(
  'connections',
  z.object({
    displayName: z.string().optional(),
    authorizationType: z.literal('OAuth2'),
    oauth2grantType: z.enum(['AuthorizationCode', 'ClientCredentials']),
    parameters: z.record(z.string(), z.string()).optional(),
    status: connectionStatusSchema,
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    expiresOn: z.iso.datetime().optional().meta({ description: 'When the current access token expires.' }),
    endUser: endUserSchema.optional().meta({ description: 'The end user a connect session created (or reconnected) the connection for.' }),
    owner: connectionOwnerSchema.optional(),
    agentTokenAccess: z.boolean().optional().meta({ description: "true: an administrator lets the MCP server's get_token tool return the raw access token (absent: off)." }),
    consentedOn: z.iso.datetime().optional().meta({ description: 'The last completed consent.' }),
    lastRefreshedOn: z.iso.datetime().optional().meta({ description: 'When the current access token was obtained (consent or refresh).' }),
    refreshTokenExpiresOn: z.iso.datetime().optional().meta({ description: "The refresh token's end, where the identity provider said." }),
    lastUsedOn: z.iso.datetime().optional().meta({ description: 'The last token served or consent, recorded at most hourly per instance.' }),
    lifecycle: connectionLifecycleSchema.optional().meta({ description: 'Get of one connection only: what its lifecycle does next.' }),
    createdOn: z.iso.datetime(),
    changedOn: z.iso.datetime(),
  }),
).meta({ id: 'Connection' });
export type ConnectionResource = z.infer<typeof connectionSchema>;

/** GET me/providers: a self-service provider and the caller's connection under it, if any. */
export const myProviderSchema = resource(
  'selfServiceProviders',
  z.object({
    displayName: z.string().optional(),
    identityProvider: z.string(),
    connection: z
      .object({ id: z.string(), status: connectionStatusSchema, error: z.object({ code: z.string(), message: z.string() }).optional(), expiresOn: z.iso.datetime().optional() })
      .optional()
      .meta({ description: "The caller's own connection (absent: none yet)." }),
  }),
).meta({ id: 'SelfServiceProvider' });
export type MyProviderResource = z.infer<typeof myProviderSchema>;

export const accessPolicySchema = resource(
  'accessPolicies',
  z.union([z.object({ tenantId: z.string(), objectId: z.string(), appIds: z.array(z.string()).optional() }), z.object({ issuer: z.string(), subject: z.string() })]),
).meta({ id: 'AccessPolicy' });
export type AccessPolicyResource = z.infer<typeof accessPolicySchema>;

export const identityProviderSchema = resource(
  'identityProviders',
  z.object({
    displayName: z.string(),
    documentationUrl: z.url().optional().meta({ description: "The identity provider's documentation for registering an OAuth client." }),
    grantTypes: z.record(
      z.string(),
      z.object({
        parameters: z.array(
          z.object({
            name: z.string(),
            displayName: z.string(),
            kind: z.enum(['string', 'url', 'scopes', 'date']),
            required: z.boolean(),
            secret: z.boolean(),
            default: z.string().optional(),
            pattern: z.string().optional().meta({ description: 'A regular expression the whole value must match.' }),
            description: z.string(),
          }),
        ),
      }),
    ),
    pkce: z.enum(['S256', 'none']).meta({ description: 'Whether consent uses PKCE (S256).' }),
    clientAuthentication: z.enum(['basic', 'body']).meta({ description: 'How the client secret is sent to the token endpoint: HTTP Basic or form fields.' }),
    clientAuthenticationParameter: z.string().optional().meta({ description: 'The parameter that overrides clientAuthentication (generic templates).' }),
    scopeSeparator: z.enum([' ', ',']),
    refreshToken: z
      .object({
        issued: z.boolean(),
        rotates: z.boolean(),
        idleLifetimeSeconds: z.number().int().optional(),
        absoluteLifetimeSeconds: z.number().int().optional(),
      })
      .meta({ description: 'Whether the provider issues refresh tokens, rotates them, and how long they live where documented.' }),
    dynamicRegistration: z.boolean().optional(),
    apiBaseUrl: z.url().optional().meta({ description: "The provider's API root the proxy uses when the provider does not set its own." }),
  }),
).meta({ id: 'IdentityProvider' });

export const collectionOf = <T extends z.ZodType>(item: T) => z.object({ value: z.array(item), nextLink: z.url().optional() });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES).meta({ description: 'Stable: switch on it, never on the message.' }),
      message: z.string(),
      details: z.array(z.object({ code: z.string(), target: z.string().optional(), message: z.string() })),
    }),
  })
  .meta({ id: 'Error' });

/** Every error answer of the API (functions/lib/http.ts renders it; the SDK's copy is client/src/contract.ts). */
export type ErrorBody = z.output<typeof errorSchema>;

export const healthSchema = z
  .union([
    z.object({ status: z.enum(['Healthy', 'Unhealthy']), checks: z.object({ storage: z.string(), keyVault: z.string() }) }),
    // The app could not start: invalid settings (named, never their values) or a dependency away.
    z.object({ status: z.literal('Unhealthy'), error: z.object({ code: z.string(), message: z.string() }) }),
  ])
  .meta({ id: 'Health' });
