import type { ConnectionRef, Evaluation, RefreshOutcome } from '../../../shared/lifecycle/lifecycleService';
import type { EndUser } from '../../../shared/model/schemas';
import { activity } from '../common';
import type { Resumable } from '../retryPolicy';

// The connection lifecycle's names (function names in the task hub: they never change) and the
// inputs and outputs that cross them, for the orchestrator, the registrations and the client.

export const CONNECTION_LIFECYCLE = 'connectionLifecycle';
export const PUBLISH_NOTICE = 'publishNotice';

export interface LifecycleInput extends Resumable {
  providerId: string;
  connectionId: string;
  /** The connection generation served (part of the instance id). */
  generation: string;
  /** Warnings already sent, by `kind:endsAt`, so each is sent once. */
  warned?: string[];
  /** Reminders sent while waiting for consent. */
  reminders?: number;
}

export type LifecycleNotice = {
  type: 'connection.connected' | 'connection.deleted' | 'connection.reauthorizationRequired' | 'connection.refreshFailed' | 'connection.expiringSoon' | 'provider.clientSecretInvalid';
  providerId: string;
  connectionId: string;
  detail?: string;
  /** The connection generation the notice is about (see shared/lifecycle/lifecycleService.ts). */
  generation: string;
  /** connection.deleted: the end user of the connection that is gone. */
  endUser?: EndUser;
};

/** Raised by consent (and a PUT that reconnects a connection) to wake a waiting lifecycle; it carries nothing the lifecycle needs. */
export const CONSENT_COMPLETED = 'ConsentCompleted';

/** Each one call into shared/lifecycle (LifecycleService). */
export const lifecycleEvaluate = activity<ConnectionRef & { now: string }, Evaluation>('lifecycleEvaluate');
export const lifecycleRefresh = activity<ConnectionRef & { knownVersion: number }, RefreshOutcome>('lifecycleRefresh');
export const lifecycleNotify = activity<LifecycleNotice, void>('lifecycleNotify');
