import type { HttpRequest } from '@azure/functions';
import { InvalidQueryError } from '../shared/errors';
import { tokenQuerySchema } from '../shared/model/runtimeSchemas';
import type { TokenOptions } from '../shared/tokens/tokenService';
import type { Call } from './lib/api';
import { queryValue } from './lib/http';

// The runtime: a workload with an access policy on the connection gets its current access token.

export async function getToken({ request, services, caller, params }: Call<'getToken'>) {
  const served = await services.tokens.getToken(caller, params.providerId, params.connectionId, tokenOptions(request));
  return { status: 200, headers: TOKEN_HEADERS, body: served.json };
}

const TOKEN_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };

function tokenOptions(request: HttpRequest): TokenOptions {
  const minValidity = queryValue(request, 'minValidity');
  const forceRefresh = queryValue(request, 'forceRefresh');
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
