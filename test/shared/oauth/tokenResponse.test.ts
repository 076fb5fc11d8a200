import { findTemplate } from '../../../shared/oauth/catalogue';
import { readTokenResponse } from '../../../shared/oauth/tokenResponse';

const t = (id: string) => findTemplate(id)!;
const json = (status: number, body: unknown, contentType = 'application/json; charset=utf-8') => ({ status, contentType, body: JSON.stringify(body) });

describe('readTokenResponse', () => {
  it('reads by content type, falling back to the template format', () => {
    const formBody = 'access_token=gho_abc&token_type=bearer&scope=repo';
    expect(readTokenResponse(t('github'), { status: 200, body: formBody })).toMatchObject({ kind: 'token', token: { accessToken: 'gho_abc' } });
    expect(readTokenResponse(t('github'), { status: 200, contentType: 'application/json', body: '{"access_token":"x"}' })).toMatchObject({ kind: 'token' });
    expect(readTokenResponse(t('oauth2'), { status: 200, contentType: 'text/plain', body: '{"access_token":"x"}' })).toMatchObject({ kind: 'token' });
    expect(readTokenResponse(t('oauth2'), { status: 200, contentType: 'application/x-www-form-urlencoded', body: 'access_token=y' })).toMatchObject({ kind: 'token', token: { accessToken: 'y' } });
  });

  it('normalises token types and expiry', () => {
    const r = readTokenResponse(t('oauth2'), json(200, { access_token: 'a', token_type: 'BEARER', expires_in: ' 120 ' }));
    expect(r).toMatchObject({ kind: 'token', token: { tokenType: 'Bearer', expiresIn: 120 } });
    expect(readTokenResponse(t('oauth2'), json(200, { access_token: 'a', token_type: 'DPoP' }))).toMatchObject({ token: { tokenType: 'DPoP' } });
    expect(readTokenResponse(t('oauth2'), json(200, { access_token: 'a' }))).toMatchObject({ token: { tokenType: 'Bearer' } });
    expect(readTokenResponse(t('oauth2'), json(200, { access_token: 'a', expires_in: 'soon' }))).toEqual({
      kind: 'malformed',
      reason: 'The token response has an expires_in that is not a number of seconds.',
    });
    expect(readTokenResponse(t('oauth2'), json(200, { access_token: 'a', expires_in: -5 }))).toMatchObject({ kind: 'malformed' });
  });

  it('reads an error field whatever the status', () => {
    expect(readTokenResponse(t('oauth2'), json(400, { error: 'invalid_grant' }))).toEqual({ kind: 'error', error: 'invalid_grant' });
    expect(readTokenResponse(t('oauth2'), json(200, { error: 'invalid_grant', error_description: 'gone' }))).toEqual({ kind: 'error', error: 'invalid_grant' });
    expect(readTokenResponse(t('oauth2'), json(503, { error: 'temporarily_unavailable' }))).toEqual({ kind: 'error', error: 'temporarily_unavailable' });
    expect(readTokenResponse(t('oauth2'), json(400, { error: { code: 'invalid_grant', message: 'nested' } }))).toEqual({ kind: 'error', error: 'invalid_grant' });
  });

  it('calls non-2xx without an error, or 2xx without an access token, malformed with fixed sentences', () => {
    expect(readTokenResponse(t('oauth2'), json(500, { message: 'boom' }))).toEqual({ kind: 'malformed', reason: 'The identity provider answered HTTP 500 without an OAuth error.' });
    expect(readTokenResponse(t('oauth2'), { status: 502, contentType: 'text/html', body: '<html>Bad gateway</html>' })).toEqual({
      kind: 'malformed',
      reason: 'The identity provider answered HTTP 502 without a readable body.',
    });
    expect(readTokenResponse(t('oauth2'), json(200, { token_type: 'bearer' }))).toEqual({ kind: 'malformed', reason: 'The token response has no access token.' });
    expect(readTokenResponse(t('oauth2'), json(200, ['access_token']))).toEqual({ kind: 'malformed', reason: 'The token response is not a JSON object.' });
    expect(readTokenResponse(t('oauth2'), { status: 200, contentType: 'application/json', body: 'x'.repeat(2 * 1024 * 1024) })).toMatchObject({ kind: 'malformed' });
  });

  it('never puts the body or a token into a reason', () => {
    const body = JSON.stringify({ token_type: 'bearer', refresh_token: 'RT-SECRET-123', id_token: 'ID-SECRET' });
    const r = readTokenResponse(t('oauth2'), { status: 200, contentType: 'application/json', body });
    expect(JSON.stringify(r)).not.toContain('SECRET');
    const r2 = readTokenResponse(t('oauth2'), { status: 400, contentType: 'application/json', body: JSON.stringify({ refresh_token: 'RT-SECRET-123' }) });
    expect(JSON.stringify(r2)).not.toContain('SECRET');
  });

  it('keeps only the cleaned error code: the description (free text, may echo a token) is not read at all', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const r = readTokenResponse(t('oauth2'), json(400, { error: 'invalid_grant\u0007', error_description: `Bad token ${token}\r\n\u001b[31mred\u001b[0m ${'x '.repeat(400)}` }));
    expect(r).toEqual({ kind: 'error', error: 'invalid_grant' });
    expect(JSON.stringify(r)).not.toContain(token);
    expect(JSON.stringify(r)).not.toContain('Bad token');
  });

  it('reads an Entra error (with trace ids in its description) as its code only', () => {
    const d = 'AADSTS70008: expired. Trace ID: 0c0b2e3a-1234-4c5d-8e9f-0a1b2c3d4e5f Timestamp: 2024-01-01 00:00:00Z';
    expect(readTokenResponse(t('aadv2'), json(400, { error: 'invalid_grant', error_description: d }))).toEqual({ kind: 'error', error: 'invalid_grant' });
  });

  it('removes the tokens from the claims, also in the nested object', () => {
    const r = readTokenResponse(
      t('slack'),
      json(200, {
        ok: true,
        access_token: 'xoxb-bot',
        refresh_token: 'xoxe-bot',
        token_type: 'bot',
        team: { id: 'T1' },
        authed_user: { id: 'U1', access_token: 'xoxp-user', refresh_token: 'xoxe-user', expires_in: 43200, token_type: 'user', scope: 'chat:write' },
      }),
    );
    expect(r).toEqual({
      kind: 'token',
      token: {
        accessToken: 'xoxp-user',
        tokenType: 'Bearer',
        expiresIn: 43200,
        refreshToken: 'xoxe-user',
        scope: 'chat:write',
        claims: { ok: true, token_type: 'bot', team: { id: 'T1' }, authed_user: { id: 'U1', expires_in: 43200, token_type: 'user', scope: 'chat:write' } },
      },
    });
  });

  it('treats ok:false as an error even on HTTP 200 (Slack)', () => {
    expect(readTokenResponse(t('slack'), json(200, { ok: false, error: 'invalid_code' }))).toEqual({ kind: 'error', error: 'invalid_code' });
    expect(readTokenResponse(t('slack'), json(200, { ok: false }))).toEqual({ kind: 'error', error: 'unknown_error' });
  });

  it('maps provider error vocabularies (HubSpot) and alternative error fields (Notion) only without a token', () => {
    expect(readTokenResponse(t('hubspot'), json(400, { status: 'BAD_AUTH_CODE', message: 'missing or unknown auth code' }))).toEqual({
      kind: 'error',
      error: 'invalid_grant',
    });
    expect(readTokenResponse(t('hubspot'), json(400, { status: 'SOMETHING_NEW' }))).toEqual({ kind: 'error', error: 'SOMETHING_NEW' });
    expect(readTokenResponse(t('notion'), json(200, { access_token: 'a', code: 'irrelevant' }))).toMatchObject({ kind: 'token' });
  });

  it('keeps a __proto__ key as plain data', () => {
    const r = readTokenResponse(t('oauth2'), { status: 200, contentType: 'application/json', body: '{"access_token":"a","__proto__":{"polluted":true}}' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(r.kind === 'token' && Object.getPrototypeOf(r.token.claims)).toBe(Object.prototype);
    const f = readTokenResponse(t('github'), { status: 200, contentType: 'application/x-www-form-urlencoded', body: 'access_token=a&__proto__=x' });
    expect(f.kind === 'token' && Object.getPrototypeOf(f.token.claims)).toBe(Object.prototype);
  });
});
