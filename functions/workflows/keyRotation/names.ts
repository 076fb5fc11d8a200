import type { RewrapPage } from '../../../shared/crypto/rewrapper';
import { activity } from '../common';
import type { Resumable } from '../retryPolicy';

// Key rotation's names (function names in the task hub: they never change) and the inputs and
// outputs that cross them.

export const ROTATE_KEYS = 'rotateKeys';
/** Its one instance id: asking again joins the run going (and GET /operations/rotateKeys reports it). */
export const ROTATE_KEYS_ID = 'rotateKeys';

export const SECRET_TABLES = ['providers', 'connections', 'webhooks', 'consentStates'] as const;
export type SecretTable = (typeof SECRET_TABLES)[number];

export interface RotateInput extends Resumable {
  table?: number;
  continuation?: string;
  scanned?: number;
  rewrapped?: number;
}

/** Rewraps one page of a table's envelopes to the KEK's current version. */
export const rewrapPage = activity<{ table: SecretTable; continuation?: string }, RewrapPage>('rewrapPage');
