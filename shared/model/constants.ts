// Declarations the console's browser bundle takes as values: free of imports, unlike the zod
// schemas built on them (shared/model/identifiers.ts, webhookSchemas.ts, shared/api/routes.ts),
// which would pull zod into the bundle.

/** A resource identifier: 1-80 letters, digits, ".", "_" or "-", starting and ending with a letter or digit. */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?$/;
/** The same, in words (the OpenAPI description, the console's hints). */
export const IDENTIFIER_RULE = '1-80 characters: letters, digits, ".", "_" or "-", starting and ending with a letter or digit';

/** An operation id (`rotateKeys`, `cascade:<providerId>`): 1-200 letters, digits, ":", ".", "_" or "-", starting with a letter or digit. */
export const OPERATION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;

/** The events a webhook subscription may ask for (docs/webhooks.md). */
export const WEBHOOK_EVENTS = [
  'connection.connected',
  'connection.reauthorizationRequired',
  'connection.refreshFailed',
  'connection.expiringSoon',
  'connection.deleted',
  'provider.clientSecretInvalid',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** The longest a rotated webhook secret keeps signing beside its successor (POST …/rotateSecret). */
export const MAX_KEEP_PREVIOUS_SECRET_HOURS = 168;
/** …and how long when the rotation does not say. */
export const DEFAULT_KEEP_PREVIOUS_SECRET_HOURS = 24;
