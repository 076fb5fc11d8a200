import type { HttpRequest, InvocationContext } from '@azure/functions';
import * as df from './durable';

// Long-running admin operations (a provider's cascade delete, key rotation) run as orchestrations
// with a known instance id, so asking twice joins the run already going; `GET /operations/{id}`
// reports on them.

const ACTIVE = new Set(['Running', 'Pending', 'ContinuedAsNew']);

/** Starts the orchestration unless an instance with that id is already running; returns the id. */
export async function startOperation(context: InvocationContext, name: string, instanceId: string, input: unknown): Promise<string> {
  const client = df.getClient(context);
  let running: boolean;
  try {
    running = ACTIVE.has((await client.getStatus(instanceId)).runtimeStatus);
  } catch {
    running = false; // never started, or purged
  }
  if (!running) await client.startNew(name, { instanceId, input });
  return instanceId;
}

/** The status URL of an operation, on this app's own API (admin-authorised, unlike the extension's). */
export function operationUrl(request: HttpRequest, instanceId: string): string {
  return new URL(`/api/operations/${encodeURIComponent(instanceId)}`, request.url).toString();
}
