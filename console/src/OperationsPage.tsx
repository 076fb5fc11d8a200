import { Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Field, ProgressBar, Text } from '@fluentui/react-components';
import { useEffect, useState } from 'react';
import { OPERATION_ID_PATTERN } from '../../shared/model/constants';
import { get, request, seg } from './api';
import { ErrorMessage } from './ErrorMessage';
import { href } from './router';

// Admin operations (docs/api.md, "Long-running operations"): key rotation on demand, and where an
// operation stands, polled until it ends. The operation's id is in the address (?operation=<id>),
// so a reload resumes showing it.

/** GET /operations/{operationId}, as functions/operations.ts answers it. */
interface Operation {
  id: string;
  name?: string;
  /** The Durable Functions runtime status. */
  status: string;
  progress?: Record<string, unknown>;
  result?: unknown;
  createdOn?: string;
  changedOn?: string;
}

const POLL_MS = 1000;
const ENDED: Record<string, { words: string; color: 'success' | 'error' | 'warning' }> = {
  Completed: { words: 'Done', color: 'success' },
  Failed: { words: 'Failed', color: 'error' },
  Terminated: { words: 'Stopped', color: 'warning' },
  Canceled: { words: 'Cancelled', color: 'warning' },
};
const RUNNING: Record<string, string> = { Pending: 'Waiting to start', Running: 'Running', ContinuedAsNew: 'Running', Suspended: 'Suspended' };

/** The workflows' progress and result fields (functions/workflows/*), named in words; others as they come. */
const LABELS: Record<string, string> = {
  table: 'Table',
  scanned: 'Envelopes scanned',
  rewrapped: 'Envelopes rewrapped',
  deletedConnections: 'Connections deleted',
  stepsDone: 'Steps done',
  stepsTotal: 'Steps in all',
  resumes: 'Resumed after faults',
  lastError: 'Last fault',
  outcome: 'Outcome',
};

/** How far a running operation is, when its progress names steps done of a total. */
function fractionDone(progress: Record<string, unknown> | undefined): number | undefined {
  const done = progress?.stepsDone;
  const total = progress?.stepsTotal;
  return typeof done === 'number' && typeof total === 'number' && total > 0 ? Math.min(1, Math.max(0, done / total)) : undefined;
}

const show = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

/** The operation id of the address, if it is one (anything else is ignored, never sent). */
export function operationInAddress(search: string): string | undefined {
  const id = new URLSearchParams(search).get('operation');
  return id !== null && OPERATION_ID_PATTERN.test(id) ? id : undefined;
}

function Facts({ label, values }: { label: string; values: unknown }) {
  if (values === undefined || values === null) return null;
  // A failed orchestration's output is its error message, a string: shown as the outcome.
  const entries = typeof values === 'object' && !Array.isArray(values) ? Object.entries(values) : [['outcome', values] as const];
  return (
    <>
      <Text as="h4" size={300} weight="semibold" block>
        {label}
      </Text>
      <dl>
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{LABELS[k] ?? k}</dt>
            <dd>{show(v)}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

function OperationStatus({ token, id }: { token: string; id: string }) {
  const [operation, setOperation] = useState<Operation>();
  const [failure, setFailure] = useState<unknown>();

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setOperation(undefined);
    setFailure(undefined);
    const poll = async () => {
      try {
        const op = await get<Operation>(token, `operations/${seg(id)}`);
        if (!live) return;
        setOperation(op);
        setFailure(undefined);
        if (!ENDED[op.status]) timer = setTimeout(() => void poll(), POLL_MS);
      } catch (err) {
        if (live) setFailure(err);
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [token, id]);

  const ended = operation && ENDED[operation.status];
  const words = operation ? (ended?.words ?? RUNNING[operation.status] ?? operation.status) : 'Asking…';
  return (
    <section aria-labelledby="operation-heading">
      <Text as="h3" id="operation-heading" size={500} block>
        Operation {id}
      </Text>
      {failure !== undefined && <ErrorMessage error={failure} />}
      {failure === undefined && (
        <Field
          label={`${operation?.name ?? id}: ${words}`}
          validationState={ended ? (ended.color === 'success' ? 'success' : 'error') : 'none'}
          validationMessage={ended ? `${words}.` : 'Still running: this page asks again every second.'}
        >
          {/* Measured where the workflow reports steps (key rotation: tables); otherwise moving until it ends. */}
          <ProgressBar value={ended ? 1 : fractionDone(operation?.progress)} max={1} color={ended?.color ?? 'brand'} />
        </Field>
      )}
      {operation && (
        <>
          <Facts label="Progress" values={operation.progress} />
          <Facts label="Result" values={operation.result} />
          <p>
            Started {operation.createdOn ? new Date(operation.createdOn).toLocaleString() : 'at an unknown time'}; last changed{' '}
            {operation.changedOn ? new Date(operation.changedOn).toLocaleString() : 'at an unknown time'}.
          </p>
        </>
      )}
    </section>
  );
}

export function OperationsPage({ token }: { token: string }) {
  const [id, setId] = useState(() => operationInAddress(location.search));
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<unknown>();

  // Back and forward move between the operations this tab showed.
  useEffect(() => {
    const onPop = () => setId(operationInAddress(location.search));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  async function rotateKeys() {
    setConfirming(false);
    setFailure(undefined);
    try {
      const started = await request<{ id: string }>(token, 'POST', 'operations/rotateKeys');
      const next = started.body.id;
      // The app's router reads the path only: the query is this page's own.
      history.pushState(null, '', `${href.operations()}?operation=${encodeURIComponent(next)}`);
      setId(next);
    } catch (err) {
      setFailure(err);
    }
  }

  return (
    <section aria-labelledby="operations-heading">
      <Text as="h2" id="operations-heading" size={600} block>
        Operations
      </Text>
      <Text as="h3" size={500} block>
        Key rotation
      </Text>
      <p>
        Rewraps every data key to the key encryption key&rsquo;s current version in Key Vault. It also runs daily; run it now after rotating the key by hand. Tokens keep being served while it runs.
      </p>
      <Button appearance="primary" onClick={() => setConfirming(true)}>
        Rotate keys now
      </Button>
      {failure !== undefined && <ErrorMessage error={failure} />}
      {id && <OperationStatus token={token} id={id} />}

      <Dialog open={confirming} onOpenChange={(_, d) => setConfirming(d.open)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Rotate keys now?</DialogTitle>
            <DialogContent>
              <p>credman rewraps the data key of every stored secret, page by page. If a rotation is running already, this joins it.</p>
            </DialogContent>
            <DialogActions>
              <Button appearance="primary" onClick={() => void rotateKeys()}>
                Rotate keys
              </Button>
              <Button onClick={() => setConfirming(false)}>Cancel</Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </section>
  );
}
