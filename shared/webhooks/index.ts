export { checkDestination, classifyAddress, DestinationError, guardedLookup, isPublicAddress, systemResolver } from './destination';
export type { AddressClass, DestinationOptions, DestinationProblem, ResolvedAddress, Resolver } from './destination';
export { createDelivery, WebhookPublisher } from './publisher';
export type { DeliveryFailure, DeliveryResult, PublisherOptions, PublishReport, WebhookEvent, WebhookTarget } from './publisher';
export { newSigningSecret, signatureHeaders } from './signing';
export { joinUrl, splitUrl } from './urlQuery';
export { newSubscriptionId, WebhookNotFoundError, WebhookService, webhookResource } from './service';
