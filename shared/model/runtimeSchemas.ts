import { z } from 'zod';
import { identifierSchema } from './identifiers';
import { accessPolicyPutSchema, endUserSchema } from './schemas';

// Schemas of the consent actions and the token endpoint (published in /openapi.json by shared/api/openapi.ts).

export const loginLinksRequestSchema = z
  .object({ postLoginRedirectUrl: z.string().min(1).max(2048).optional() })
  .strict()
  .meta({ id: 'LoginLinksRequest' });

export const loginLinksResponseSchema = z.object({ loginLink: z.string() }).meta({ id: 'LoginLinks' });

export const confirmConsentCodeSchema = z
  .object({ consentCode: z.string().min(1).max(200) })
  .strict()
  .meta({ id: 'ConfirmConsentCode' });

/** Access policies a connect session may grant: a handful of workloads, not a directory. */
export const MAX_CONNECT_SESSION_POLICIES = 10;

export const connectSessionRequestSchema = z
  .object({
    providerId: identifierSchema,
    // `u.` and `p.` name people's self-service connections (shared/management/selfService.ts): an app
    // holding one would lock its person out of theirs.
    connectionId: identifierSchema.refine((id) => !/^[up]\./i.test(id), { message: "Ids starting with 'u.' or 'p.' are kept for people's self-service connections." }),
    accessPolicies: z
      .array(z.object({ id: identifierSchema, properties: accessPolicyPutSchema.shape.properties }).strict())
      .min(1)
      .max(MAX_CONNECT_SESSION_POLICIES)
      .refine((ps) => new Set(ps.map((p) => p.id)).size === ps.length, { message: 'Each access policy id may be listed once.' })
      .meta({ description: "Written on the connection after consent (the app identity's own policy besides)." }),
    endUser: endUserSchema,
    postLoginRedirectUrl: z.string().min(1).max(2048).meta({ description: 'Where the browser goes after sign-in, with status=confirmationRequired&consentCode=… (or status=error&code=…).' }),
  })
  .strict()
  .meta({ id: 'ConnectSessionRequest' });
export type ConnectSessionRequest = z.output<typeof connectSessionRequestSchema>;

export const connectSessionResponseSchema = z.object({ connectLink: z.string(), expiresOn: z.iso.datetime() }).meta({ id: 'ConnectSession' });

export const tokenQuerySchema = z
  .object({
    minValidity: z.coerce.number().int().min(0).max(86_400).optional(),
    forceRefresh: z.enum(['true', 'false']).optional(),
  })
  .strict();

/** What the token endpoint returns: never the refresh or ID token. The SDK's copy is client/src/contract.ts (held to this by test/client/contract.test.ts). */
export const authorizationContextSchema = z
  .object({
    accessToken: z.string().min(1),
    tokenType: z.string(),
    expiresOn: z.iso.datetime({ offset: true }).optional().meta({
      description:
        "When the access token expires. Absent when the identity provider gave no lifetime (no expires_in, e.g. GitHub OAuth apps) and the provider's template assumes none: the token is served until it is revoked or refreshed, and clients should ask again from time to time (the SDK: every 5 minutes).",
    }),
    scope: z.string().optional(),
    claims: z.record(z.string(), z.unknown()).meta({ description: "The identity provider's token response less access_token, refresh_token and id_token." }),
  })
  .meta({ id: 'AuthorizationContext' });

export type AuthorizationContext = z.output<typeof authorizationContextSchema>;
