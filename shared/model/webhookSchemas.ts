import { z } from 'zod';
import { connectionStatusSchema } from './schemas';

// Webhook subscriptions: the request schema validates PUT bodies, and both generate /openapi.json.
// Strict objects, as elsewhere: an unknown field is a 400 naming it.

export const WEBHOOK_EVENTS = [
  'connection.connected',
  'connection.reauthorizationRequired',
  'connection.refreshFailed',
  'connection.expiringSoon',
  'connection.deleted',
  'provider.clientSecretInvalid',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export const webhookEventSchema = z.enum(WEBHOOK_EVENTS);

export const WEBHOOK_SECRET_MIN = 16;
export const WEBHOOK_SECRET_MAX = 256;

export const webhookPutSchema = z
  .object({
    properties: z
      .object({
        url: z.string().min(1).max(2048).meta({
          format: 'uri',
          description: 'Absolute https URL of the receiver, resolving to public addresses only (http and private addresses only where the instance allows private networks).',
        }),
        events: z
          .array(webhookEventSchema)
          .min(1)
          .max(WEBHOOK_EVENTS.length)
          .refine((events) => new Set(events).size === events.length, { message: 'Each event may be listed once.' }),
        secret: z.string().min(WEBHOOK_SECRET_MIN).max(WEBHOOK_SECRET_MAX).optional().meta({
          description: 'Write-only. Key of the HMAC-SHA256 in X-Credman-Signature; without it, deliveries are not signed. A replace without it removes it.',
        }),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'WebhookPut' });
export type WebhookPut = z.infer<typeof webhookPutSchema>;

export const webhookSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.literal('webhooks'),
    properties: z.object({
      url: z.string(),
      events: z.array(webhookEventSchema),
      signed: z.boolean().meta({ description: 'Whether a secret is set, so that deliveries carry X-Credman-Signature. The secret itself is never returned.' }),
      createdOn: z.iso.datetime(),
      changedOn: z.iso.datetime(),
    }),
  })
  .meta({ id: 'Webhook' });
export type WebhookResource = z.infer<typeof webhookSchema>;

/** What a receiver gets: the body of every delivery. */
export const webhookDeliverySchema = z
  .object({
    id: z.uuid().meta({ description: 'Delivery id, the same on every retry of this delivery (also in X-Credman-Delivery).' }),
    type: webhookEventSchema,
    time: z.iso.datetime(),
    data: z.object({
      providerId: z.string(),
      connectionId: z.string().optional(),
      status: connectionStatusSchema.optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
      expiresOn: z.iso.datetime().optional().meta({ description: 'connection.expiringSoon: when the refresh token or client secret ends.' }),
    }),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
export type WebhookEventData = WebhookDelivery['data'];
