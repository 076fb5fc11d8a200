import type { z } from 'zod';
import { CredmanError, OperationNotFoundError, RouteNotFoundError } from '../shared/errors';
import type { healthSchema } from '../shared/model/schemas';
import type { Call } from './lib/api';
import * as df from './lib/durable';
import { json } from './lib/http';
import { operationUrl, startOperation } from './workflows/common';
import { ROTATE_KEYS, ROTATE_KEYS_ID } from './workflows/keyRotation/names';
import { getServices } from './lib/runtime';

/** Anonymous: which dependency fails (never why), or why the app could not start (settings by name, never values). */
export async function health(_: Call<'health'>) {
  let report: z.infer<typeof healthSchema>;
  try {
    report = await (await getServices()).health.check();
  } catch (err) {
    if (!(err instanceof CredmanError) || !err.expose) throw err;
    report = { status: 'Unhealthy', error: { code: err.code, message: err.message } };
  }
  return report.status === 'Healthy' ? json(200, report) : { ...json(503, report), headers: { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '10' } };
}

export async function openApi(_: Call<'openApi'>) {
  // Built from every schema on first request; not loaded at start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return json(200, (require('../shared/api/openapi') as typeof import('../shared/api/openapi')).openApiDocument());
}

/** GET /operations/{operationId}: where a background operation (cascade delete, key rotation) stands. */
export async function getOperation({ context, params }: Call<'getOperation'>) {
  const id = params.operationId;
  let status;
  try {
    status = await df.getClient(context).getStatus(id);
  } catch {
    throw new OperationNotFoundError(id);
  }
  return json(200, {
    id,
    name: status.name,
    status: status.runtimeStatus,
    ...(status.customStatus ? { progress: status.customStatus } : {}),
    ...(status.output !== undefined && status.output !== null ? { result: status.output } : {}),
    createdOn: status.createdTime,
    changedOn: status.lastUpdatedTime,
  });
}

/** POST /operations/rotateKeys: rewrap every data key to the KEK's current version now (it also runs daily). */
export async function rotateKeysNow({ request, context }: Call<'rotateKeysNow'>) {
  const id = await startOperation(context, ROTATE_KEYS, ROTATE_KEYS_ID, {});
  const location = operationUrl(request, id);
  return { status: 202, headers: { Location: location }, jsonBody: { id, status: 'Running', statusUrl: location } };
}

/** Any other path under /api: a 404 in the API's error shape rather than the host's empty one. */
export async function zzNotFound(_: Call<'zzNotFound'>): Promise<never> {
  throw new RouteNotFoundError();
}
