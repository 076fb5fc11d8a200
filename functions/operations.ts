import { app, type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from './lib/durable';
import type { z } from 'zod';
import { CredmanError, InvalidIdentifierError, NotFoundError } from '../shared/errors';
import type { healthSchema } from '../shared/model/schemas';
import { handle, json } from './lib/http';
import { durableClientInput, operationUrl, startOperation } from './workflows/common';
import { ROTATE_KEYS_ID } from './workflows/keyRotation/names';
import { getServices, requireAdmin } from './lib/runtime';

/** Anonymous: which dependency fails (never why), or why the app could not start (settings by name, never values). */
export async function health() {
  let report: z.infer<typeof healthSchema>;
  try {
    report = await (await getServices()).health.check();
  } catch (err) {
    if (!(err instanceof CredmanError) || !err.expose) throw err;
    report = { status: 'Unhealthy', error: { code: err.code, message: err.message } };
  }
  return report.status === 'Healthy' ? json(200, report) : { ...json(503, report), headers: { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '10' } };
}

export async function openApi() {
  // Built from every schema on first request; not loaded at start.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return json(200, (require('../shared/api/openapi') as typeof import('../shared/api/openapi')).openApiDocument());
}

const OPERATION_ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,199}$/;

/** GET /operations/{operationId}: where a background operation (cascade delete, key rotation) stands. */
export async function getOperation(request: HttpRequest, context: InvocationContext) {
  await requireAdmin(request);
  const id = request.params.operationId ?? '';
  if (!OPERATION_ID.test(id)) throw new InvalidIdentifierError('operationId');
  let status;
  try {
    status = await df.getClient(context).getStatus(id);
  } catch {
    throw new NotFoundError('NotFound', `Operation '${id}' does not exist.`);
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
export async function rotateKeysNow(request: HttpRequest, context: InvocationContext) {
  await requireAdmin(request);
  const id = await startOperation(context, 'rotateKeys', ROTATE_KEYS_ID, {});
  const location = operationUrl(request, id);
  return { status: 202, headers: { Location: location }, jsonBody: { id, status: 'Running', statusUrl: location } };
}

/** Any other path under /api: a 404 in the API's error shape rather than the host's empty one. */
export async function notFound() {
  return json(404, { error: { code: 'NotFound', message: 'No such route or method.', details: [] } });
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: handle(health) });
app.http('openApi', { methods: ['GET'], route: 'openapi.json', authLevel: 'anonymous', handler: handle(openApi) });
app.http('getOperation', { methods: ['GET'], route: 'operations/{operationId}', authLevel: 'anonymous', extraInputs: [durableClientInput], handler: handle(getOperation) });
app.http('rotateKeysNow', { methods: ['POST'], route: 'operations/rotateKeys', authLevel: 'anonymous', extraInputs: [durableClientInput], handler: handle(rotateKeysNow) });
// The Functions host tries HTTP functions in the order of their names (ignoring case) and the first
// whose template and method match wins, with no literal-before-parameter precedence: a catch-all
// named before another function swallows that function's requests. Hence a name that sorts last;
// test/local/routeOrder.test.ts checks that every route of the API reaches its own function.
app.http('zzNotFound', {
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  route: '{*path}',
  authLevel: 'anonymous',
  handler: handle(notFound),
});
