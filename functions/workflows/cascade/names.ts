import { activity } from '../common';
import type { Resumable } from '../retryPolicy';

// The provider cascade's names (function names in the task hub: they never change) and the inputs
// and outputs that cross them.

export const PROVIDER_CASCADE = 'providerCascade';

export interface CascadeInput extends Resumable {
  providerId: string;
  deleted?: number;
}

/** Deletes a page of the provider's connections (ending their lifecycles); the ids deleted, none when none is left. */
export const cascadeDeletePage = activity<string, string[]>('cascadeDeletePage');
/** Deletes the provider once it has no connection; false when one appeared meanwhile. */
export const cascadeFinish = activity<string, boolean>('cascadeFinish');
