import { z } from 'zod';

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

export const tokenQuerySchema = z
  .object({
    minValidity: z.coerce.number().int().min(0).max(86_400).optional(),
    forceRefresh: z.enum(['true', 'false']).optional(),
  })
  .strict();

export const authorizationContextSchema = z
  .object({
    accessToken: z.string(),
    tokenType: z.string(),
    expiresOn: z.string().optional(),
    scope: z.string().optional(),
    claims: z.record(z.string(), z.unknown()).meta({ description: "The identity provider's token response less access_token, refresh_token and id_token." }),
  })
  .meta({ id: 'AuthorizationContext' });
