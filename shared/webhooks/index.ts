export { createDelivery, WebhookPublisher } from './publisher';
export type { DeliveryFailure, DeliveryResult, PublisherOptions, PublishReport, WebhookEvent, WebhookTarget } from './publisher';
export { newSigningSecret, signatureHeaders } from './signing';
export { joinUrl, splitUrl } from './urlQuery';
export { newSubscriptionId, WebhookNotFoundError, WebhookService, webhookResource } from './service';
