import { z } from 'zod';
import { DEFAULT_KEEP_PREVIOUS_SECRET_HOURS, MAX_KEEP_PREVIOUS_SECRET_HOURS, WEBHOOK_EVENTS } from './constants';
import { connectionStatusSchema, endUserSchema } from './schemas';

// Webhook subscriptions: the request schema validates PUT bodies, and both generate /openapi.json.
// Strict objects, as elsewhere: an unknown field is a 400 naming it.

export { MAX_KEEP_PREVIOUS_SECRET_HOURS, WEBHOOK_EVENTS, type WebhookEventType } from './constants';

export const webhookEventSchema = z.enum(WEBHOOK_EVENTS);

export const webhookPutSchema = z
  .object({
    properties: z
      .object({
        url: z.string().min(1).max(2048).meta({
          format: 'uri',
          description:
            'Absolute https URL of the receiver, resolving to public addresses only (http and private addresses only where the instance allows private networks). Its query is stored sealed and never returned: responses show each query value as ***. Sending back the URL as a response showed it keeps the stored query.',
        }),
        events: z
          .array(webhookEventSchema)
          .min(1)
          .max(WEBHOOK_EVENTS.length)
          .refine((events) => new Set(events).size === events.length, { message: 'Each event may be listed once.' }),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'WebhookPut' });
export type WebhookPut = z.infer<typeof webhookPutSchema>;

const webhookProperties = z.object({
  url: z.string().meta({ description: 'The URL with every query value replaced by *** (the query is a credential: a Logic Apps callback carries its sig there).' }),
  events: z.array(webhookEventSchema),
  signed: z.boolean().meta({ description: 'Whether deliveries carry webhook-signature. Every subscription credman creates is signed; its secret is returned only by the response that issues it.' }),
  previousSecretExpiresOn: z.iso.datetime().optional().meta({ description: 'After a rotation: until when the previous secret signs too.' }),
  createdOn: z.iso.datetime(),
  changedOn: z.iso.datetime(),
});

export const webhookSchema = z.object({ id: z.string(), name: z.string(), type: z.literal('webhooks'), properties: webhookProperties }).meta({ id: 'Webhook' });
export type WebhookResource = z.infer<typeof webhookSchema>;

/** The answer that issues a signing secret (create, rotation): the only time it is shown. */
export const webhookWithSecretSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.literal('webhooks'),
    properties: webhookProperties.extend({
      secret: z
        .string()
        .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
        .meta({
          description: 'The signing secret (Standard Webhooks form: whsec_ and base64), shown once: store it where the receiver verifies deliveries.',
        }),
    }),
  })
  .meta({ id: 'WebhookWithSecret' });

export const webhookRotateSecretSchema = z
  .object({
    keepPreviousSecretForHours: z.number().int().min(0).max(MAX_KEEP_PREVIOUS_SECRET_HOURS).default(DEFAULT_KEEP_PREVIOUS_SECRET_HOURS).meta({
      description: 'How long the current secret keeps signing beside the new one (0: it stops at once, for a leaked secret).',
    }),
  })
  .strict()
  .meta({ id: 'WebhookRotateSecret' });
export type WebhookRotateSecret = z.infer<typeof webhookRotateSecretSchema>;

/** What a receiver gets: the body of every delivery. */
export const webhookDeliverySchema = z
  .object({
    id: z.uuid().meta({ description: 'Delivery id, the same on every retry of this delivery (also in webhook-id).' }),
    type: webhookEventSchema,
    time: z.iso.datetime(),
    data: z.object({
      providerId: z.string(),
      connectionId: z.string().optional(),
      status: connectionStatusSchema.optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
      expiresOn: z.iso.datetime().optional().meta({ description: 'connection.expiringSoon: when the refresh token or client secret ends.' }),
      endUser: endUserSchema.optional().meta({ description: 'The end user of a connection a connect session created.' }),
    }),
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;
export type WebhookEventData = WebhookDelivery['data'];
