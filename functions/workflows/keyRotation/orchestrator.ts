import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { callWithRetry } from '../common';
import { MAX_RESUMES, resumeLater } from '../retryPolicy';
import { rewrapPage, SECRET_TABLES, type RotateInput } from './names';

// rotateKeys: moves every envelope of every table that holds secrets to the KEK's current
// version, a page per activity (each page rewraps its rows in parallel), continuing as new every
// few pages so that the history stays short; a restart resumes at the page it stood at, and so
// does an outage of Key Vault or storage that outlasts the retries (after a durable timer, up to
// MAX_RESUMES times in a row without a page done). A permanent fault (an envelope that does not
// open) ends it Failed, which GET /operations/rotateKeys shows.

const PAGES_PER_EXECUTION = 20;

export const rotateKeys: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput<RotateInput | ''>() || {};
  let { table = 0, continuation, scanned = 0, rewrapped = 0 } = input;
  let progressed = false;
  const progress = (): RotateInput => ({ table, ...(continuation === undefined ? {} : { continuation }), scanned, rewrapped });
  // stepsDone/stepsTotal: tables finished of all, what a progress bar can measure against.
  const status = () => ({ table: SECRET_TABLES[Math.min(table, SECRET_TABLES.length - 1)], scanned, rewrapped, stepsDone: table, stepsTotal: SECRET_TABLES.length });
  try {
    for (let page = 0; page < PAGES_PER_EXECUTION && table < SECRET_TABLES.length; page++) {
      const r = yield* callWithRetry(context, rewrapPage, { table: SECRET_TABLES[table], continuation });
      scanned += r.scanned;
      rewrapped += r.rewrapped;
      continuation = r.next;
      if (!continuation) table++;
      progressed = true;
      context.df.setCustomStatus(status());
    }
  } catch (err) {
    return yield* resumeLater(context, err, progress(), progressed ? 0 : (input.resumes ?? 0), { maxResumes: MAX_RESUMES, status: status() });
  }
  if (table >= SECRET_TABLES.length) return { scanned, rewrapped };
  context.df.continueAsNew(progress());
  return undefined;
};
