import { parseErrorBody, parseTokenResponse } from './contract';
import { CredmanError, errorClassFor, SdkErrorCode } from './errors';
import { parseRetryAfter } from './retry';

// Reads one answer of the token endpoint: the token, or the API's error shape as a typed error.
// A body that is not the API's shape is never echoed (it may be a gateway page or worse).

export interface CredmanToken {
  accessToken: string;
  tokenType: string;
  /** Absent when the identity provider gave the token no lifetime (GitHub OAuth apps): see the README, "Tokens without expiry". */
  expiresOn?: Date;
  scope?: string;
  /** The identity provider's token response less access, refresh and id tokens. */
  claims: Record<string, unknown>;
}

const CODE = /^[A-Z][A-Za-z]+$/;

export async function readTokenResponse(res: Response): Promise<CredmanToken> {
  if (res.status !== 200) throw await readError(res);
  const b = parseTokenResponse(await readJson(res));
  if (!b) throw new CredmanError(SdkErrorCode.UnexpectedResponse, 'credman answered 200 without a token response.', { status: 200 });
  return {
    accessToken: b.accessToken,
    tokenType: b.tokenType,
    ...(b.expiresOn === undefined ? {} : { expiresOn: new Date(b.expiresOn) }),
    ...(b.scope === undefined ? {} : { scope: b.scope }),
    claims: b.claims,
  };
}

/** credman's error answer as a typed error (its shape, or UnexpectedResponse). */
export async function readError(res: Response): Promise<CredmanError> {
  const status = res.status;
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const Err = errorClassFor(status);
  const common = { status, ...(retryAfter === undefined ? {} : { retryAfter }) };
  const isJson = /^application\/(?:[\w.+-]+\+)?json\b/i.test(res.headers.get('content-type') ?? '');
  const body = isJson
    ? await readJson(res).catch((err: unknown) => {
        if (isAbort(err)) throw err;
        return undefined;
      })
    : await discard(res);
  const e = parseErrorBody(body)?.error;
  if (e && CODE.test(e.code)) return new Err(e.code, e.message, { ...common, details: e.details });
  const what = status >= 300 && status < 400 ? 'a redirect, which is not followed' : 'a body that is not its error shape';
  return new Err(SdkErrorCode.UnexpectedResponse, `credman answered HTTP ${status} with ${what}.`, common);
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new CredmanError(SdkErrorCode.UnexpectedResponse, `credman answered HTTP ${res.status} with a body that is not JSON.`, { status: res.status });
  }
}

async function discard(res: Response): Promise<undefined> {
  await res.body?.cancel().catch(() => undefined);
  return undefined;
}

export const isAbort = (err: unknown): boolean => err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
