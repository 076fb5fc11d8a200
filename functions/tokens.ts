import { app, type HttpRequest } from '@azure/functions';
import { InvalidQueryError } from '../shared/errors';
import { parseIdentifier } from '../shared/model/identifiers';
import { tokenQuerySchema } from '../shared/model/runtimeSchemas';
import type { TokenOptions } from '../shared/tokens/tokenService';
import { handle } from './lib/http';
import { getServices } from './lib/runtime';

// The runtime: a workload with an access policy on the connection gets its current access token.

export async function getToken(request: HttpRequest) {
  const s = await getServices();
  const caller = await s.auth.authenticate(request.headers.get('authorization'));
  const providerId = parseIdentifier(request.params.providerId, 'providerId');
  const connectionId = parseIdentifier(request.params.connectionId, 'connectionId');
  const served = await s.tokens.getToken(caller, providerId, connectionId, tokenOptions(request));
  return { status: 200, headers: TOKEN_HEADERS, body: served.json };
}

const TOKEN_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };

function tokenOptions(request: HttpRequest): TokenOptions {
  const minValidity = request.query.get('minValidity') ?? undefined;
  const forceRefresh = request.query.get('forceRefresh') ?? undefined;
  if (minValidity === undefined && forceRefresh === undefined) return {}; // the hot path
  const q = tokenQuerySchema.safeParse({ minValidity, forceRefresh });
  if (!q.success) {
    const target = String(q.error.issues[0]?.path[0] ?? 'query');
    throw new InvalidQueryError(target, target === 'forceRefresh' ? 'forceRefresh must be true or false.' : 'minValidity must be an integer number of seconds from 0 to 86400.');
  }
  return {
    ...(q.data.minValidity === undefined ? {} : { minValiditySeconds: q.data.minValidity }),
    forceRefresh: q.data.forceRefresh === 'true',
  };
}

app.http('getToken', { methods: ['POST'], route: 'providers/{providerId}/connections/{connectionId}/token', authLevel: 'anonymous', handler: handle(getToken) });
