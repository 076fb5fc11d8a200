import { app } from '@azure/functions';
import { openApiDocument } from '../shared/api/openapi';
import { handle, json } from './lib/http';
import { getServices } from './lib/runtime';

export async function health() {
  const report = await (await getServices()).health.check();
  return report.status === 'Healthy'
    ? json(200, report)
    : { ...json(503, report), headers: { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '10' } };
}

export async function openApi() {
  return json(200, openApiDocument());
}

/** Any other path under /api: a 404 in the API's error shape rather than the host's empty one. */
export async function notFound() {
  return json(404, { error: { code: 'NotFound', message: 'No such route or method.', details: [] } });
}

app.http('health', { methods: ['GET'], route: 'health', authLevel: 'anonymous', handler: handle(health) });
app.http('openApi', { methods: ['GET'], route: 'openapi.json', authLevel: 'anonymous', handler: handle(openApi) });
app.http('notFound', {
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  route: '{*path}',
  authLevel: 'anonymous',
  handler: handle(notFound),
});
