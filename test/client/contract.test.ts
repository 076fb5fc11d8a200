import { authorizationContextSchema, type AuthorizationContext } from '../../shared/model/runtimeSchemas';
import { ERROR_CODES as SERVER_ERROR_CODES, type ErrorCode as ServerErrorCode } from '../../shared/errors';
import { errorSchema, type ErrorBody as ServerErrorBody } from '../../shared/model/schemas';
import { ERROR_CODES, parseErrorBody, parseTokenResponse, type ErrorBody, type ErrorCode, type TokenResponseBody } from '../../client/src/contract';

// The SDK compiles in its own copy of the token endpoint's contract (client/src/contract.ts: the
// package is built from client/src alone and has no zod). This holds the copy to the server's
// zod schemas: the same types (checked by `npm run typecheck`), the same verdict on each body.

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameToken: Equal<TokenResponseBody, AuthorizationContext> = true;
const sameError: Equal<ErrorBody, ServerErrorBody> = true;
// The closed list of error codes: a code added to (or dropped from) shared/errors.ts and not the SDK fails typecheck.
const sameCodes: Equal<ErrorCode, ServerErrorCode> = true;

const token = { accessToken: 'at', tokenType: 'Bearer', expiresOn: '2026-12-03T17:00:00.000Z', scope: 'repo', claims: { foo: 1 } };
const { expiresOn: _e, ...noExpiry } = token;
const { scope: _s, ...noScope } = token;

const tokenBodies: Array<[string, unknown]> = [
  ['complete', token],
  ['without expiresOn (no expires_in at the identity provider)', noExpiry],
  ['without scope', noScope],
  ['with an offset date-time', { ...token, expiresOn: '2026-12-03T18:00:00+01:00' }],
  ['with an unknown field (dropped)', { ...token, refreshToken: 'rt' }],
  ['with an empty access token', { ...token, accessToken: '' }],
  ['without an access token', { ...token, accessToken: undefined }],
  ['with a numeric token type', { ...token, tokenType: 1 }],
  ['with expiresOn not a date-time', { ...token, expiresOn: 'tomorrow' }],
  ['with expiresOn a date only', { ...token, expiresOn: '2026-12-03' }],
  ['with expiresOn on 30 February', { ...token, expiresOn: '2026-02-30T00:00:00Z' }],
  ['with expiresOn on 29 February of a leap year', { ...token, expiresOn: '2028-02-29T00:00:00Z' }],
  ['with expiresOn at hour 24', { ...token, expiresOn: '2026-12-03T24:00:00Z' }],
  ['with expiresOn without a zone', { ...token, expiresOn: '2026-12-03T17:00:00' }],
  ['with expiresOn in month 13', { ...token, expiresOn: '2026-13-03T17:00:00Z' }],
  ['with expiresOn as epoch seconds', { ...token, expiresOn: 1_800_000_000 }],
  ['with expiresOn null', { ...token, expiresOn: null }],
  ['with scope null', { ...token, scope: null }],
  ['without claims', { ...token, claims: undefined }],
  ['with claims an array', { ...token, claims: [] }],
  ['null', null],
  ['an array', [token]],
  ['a string', 'at'],
];

describe('the SDK reads the token response as the server schema defines it', () => {
  it.each(tokenBodies)('%s', (_name, body) => {
    const server = authorizationContextSchema.safeParse(body);
    const sdk = parseTokenResponse(body);
    expect({ accepted: sdk !== undefined }).toEqual({ accepted: server.success });
    if (server.success) expect(sdk).toEqual(server.data);
  });

  it('is type-identical (compile-time)', () => {
    expect([sameToken, sameError, sameCodes]).toEqual([true, true, true]);
  });

  it('lists the same error codes as the server, in the same order, at run time too', () => {
    expect(ERROR_CODES).toEqual(SERVER_ERROR_CODES);
  });
});

const error = { error: { code: 'Forbidden', message: 'No.', details: [{ code: 'PolicyMissing', target: 'caller', message: 'none' }] } };

const errorBodies: Array<[string, unknown]> = [
  ['complete', error],
  ['with no details', { error: { ...error.error, details: [] } }],
  ['a detail without target', { error: { ...error.error, details: [{ code: 'X', message: 'y' }] } }],
  ['with a code the server does not list (kept: a newer server may add codes)', { error: { code: 'SomethingNew', message: 'm', details: [] } }],
  ['an unknown field (dropped)', { error: { ...error.error, innerError: { trace: 1 } } }],
  ['without code', { error: { message: 'm', details: [] } }],
  ['with a numeric message', { error: { code: 'Forbidden', message: 1, details: [] } }],
  ['with a numeric code', { error: { code: 1, message: 'm', details: [] } }],
  ['an OAuth error (not the API shape)', { error: 'invalid_grant', error_description: 'x' }],
  ['null', null],
];

describe('the SDK reads every error body the server schema allows, as it is', () => {
  it.each(errorBodies)('%s', (_name, body) => {
    const server = errorSchema.safeParse(body);
    const sdk = parseErrorBody(body);
    if (server.success) expect(sdk).toEqual(server.data);
    // The SDK is lenient only about details (a gateway may send fewer) and unknown codes: never about code or message types.
    if (sdk === undefined) expect(server.success).toBe(false);
  });

  it('keeps a code it does not list as given, and the schema publishes exactly the listed codes', () => {
    expect(parseErrorBody({ error: { code: 'SomethingNew', message: 'm', details: [] } })?.error.code).toBe('SomethingNew');
    expect(errorSchema.safeParse({ error: { code: 'SomethingNew', message: 'm', details: [] } }).success).toBe(false);
    for (const code of ERROR_CODES) expect(errorSchema.safeParse({ error: { code, message: 'm', details: [] } }).success).toBe(true);
  });
});
