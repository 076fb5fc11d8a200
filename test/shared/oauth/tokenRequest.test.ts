import { findTemplate } from '../../../shared/oauth/catalogue';
import { clientCredentialsRequest, codeExchangeRequest, refreshRequest } from '../../../shared/oauth/tokenRequest';

const t = (id: string) => findTemplate(id)!;
const form = (body: string) => Object.fromEntries(new URLSearchParams(body));
const exchange = { code: 'code-1', redirectUri: 'https://credman.example/api/consent/callback', codeVerifier: 'verifier-1' };
const generic = { clientId: 'client:1', authorizationUrl: 'https://idp.example/a', tokenUrl: 'https://idp.example/token' };
const tricky = 'se:cr+et/=%';

describe('client authentication', () => {
  it('basic: Authorization header of the form-urlencoded id and secret (RFC 6749 §2.3.1), neither in the body', () => {
    const req = codeExchangeRequest(t('oauth2'), { ...generic, clientAuthentication: 'basic' }, { clientSecret: tricky }, exchange);
    expect(req.headers.Authorization).toBe(`Basic ${Buffer.from('client%3A1:se%3Acr%2Bet%2F%3D%25').toString('base64')}`);
    expect(Buffer.from(req.headers.Authorization.slice('Basic '.length), 'base64').toString()).toBe('client%3A1:se%3Acr%2Bet%2F%3D%25');
    expect(req.body).not.toContain('client_secret');
    expect(req.body).not.toContain('client_id');
    expect(req.body).not.toContain(encodeURIComponent(tricky));
  });

  it('body: client_id and client_secret as form fields, encoded byte for byte', () => {
    const req = codeExchangeRequest(t('oauth2'), generic, { clientSecret: tricky }, exchange);
    expect(req.headers.Authorization).toBeUndefined();
    expect(req.body).toContain('client_id=client%3A1');
    expect(req.body).toContain('client_secret=se%3Acr%2Bet%2F%3D%25');
    expect(form(req.body)).toMatchObject({ client_id: 'client:1', client_secret: tricky });
  });

  it('honours the template default when the admin chose nothing or something unknown', () => {
    expect(codeExchangeRequest(t('oauth2'), { ...generic, clientAuthentication: 'jwt' }, { clientSecret: 's' }, exchange).headers.Authorization).toBeUndefined();
    expect(codeExchangeRequest(t('spotify'), { clientId: 'c' }, { clientSecret: 's' }, exchange).headers.Authorization).toMatch(/^Basic /);
  });

  it('a public client (no secret) sends its client_id in the body only, even where the template says basic', () => {
    const req = codeExchangeRequest(t('x'), { clientId: 'pub' }, {}, exchange);
    expect(req.headers.Authorization).toBeUndefined();
    expect(form(req.body)).toEqual({
      grant_type: 'authorization_code',
      code: 'code-1',
      redirect_uri: exchange.redirectUri,
      code_verifier: 'verifier-1',
      client_id: 'pub',
    });
  });
});

describe('code exchange', () => {
  it('posts form-encoded to the token URL asking for JSON', () => {
    const req = codeExchangeRequest(t('github'), { clientId: 'gh' }, { clientSecret: 's' }, exchange);
    expect(req.url).toBe('https://github.com/login/oauth/access_token');
    expect(req.headers).toMatchObject({ Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(form(req.body)).toEqual({ grant_type: 'authorization_code', code: 'code-1', redirect_uri: exchange.redirectUri, code_verifier: 'verifier-1', client_id: 'gh', client_secret: 's' });
  });

  it('sends no code_verifier to a provider without PKCE', () => {
    expect(form(codeExchangeRequest(t('box'), { clientId: 'b' }, { clientSecret: 's' }, exchange).body)).not.toHaveProperty('code_verifier');
  });

  it('adds tokenParameters (Entra v1 resource) and scopes where the provider wants them (Entra v2, Zendesk)', () => {
    expect(form(codeExchangeRequest(t('aad'), { clientId: 'c', resourceUri: 'https://graph.microsoft.com' }, { clientSecret: 's' }, exchange).body)).toMatchObject({
      resource: 'https://graph.microsoft.com',
    });
    expect(form(codeExchangeRequest(t('zendesk'), { clientId: 'c', subdomain: 'acme', scopes: 'read,write' }, { clientSecret: 's' }, exchange).body)).toMatchObject({
      scope: 'read write',
    });
    expect(form(codeExchangeRequest(t('google'), { clientId: 'c', scopes: 'openid' }, { clientSecret: 's' }, exchange).body)).not.toHaveProperty('scope');
  });

  it('sends JSON where the provider only documents JSON (Notion)', () => {
    const req = codeExchangeRequest(t('notion'), { clientId: 'n' }, { clientSecret: 's' }, exchange);
    expect(req.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ grant_type: 'authorization_code', code: 'code-1', redirect_uri: exchange.redirectUri });
    expect(req.headers.Authorization).toMatch(/^Basic /);
  });

  it('is a 409 ProviderMisconfigured without a client id', () => {
    expect(() => codeExchangeRequest(t('github'), {}, { clientSecret: 's' }, exchange)).toThrow(expect.objectContaining({ code: 'ProviderMisconfigured' }));
  });
});

describe('refresh', () => {
  it('goes to the refresh URL with the refresh token and tokenParameters', () => {
    const figma = refreshRequest(t('figma'), { clientId: 'f' }, { clientSecret: 's' }, 'rt-1');
    expect(figma.url).toBe('https://api.figma.com/v1/oauth/refresh');
    expect(form(figma.body)).toEqual({ grant_type: 'refresh_token', refresh_token: 'rt-1' });

    const generic2 = refreshRequest(t('oauth2'), { ...generic, refreshUrl: 'https://idp.example/refresh' }, { clientSecret: 's' }, 'rt+/=');
    expect(generic2.url).toBe('https://idp.example/refresh');
    expect(generic2.body).toContain('refresh_token=rt%2B%2F%3D');

    const aad = refreshRequest(t('aad'), { clientId: 'c', resourceUri: 'https://vault.azure.net' }, { clientSecret: 's' }, 'rt');
    expect(aad.url).toBe('https://login.windows.net/common/oauth2/token');
    expect(form(aad.body)).toMatchObject({ grant_type: 'refresh_token', resource: 'https://vault.azure.net', client_id: 'c', client_secret: 's' });
  });

  it('repeats the scopes for Entra v2 (documented as required on refresh)', () => {
    expect(form(refreshRequest(t('aadv2'), { clientId: 'c' }, { clientSecret: 's' }, 'rt').body)).toMatchObject({ scope: 'openid profile offline_access' });
  });
});

describe('client credentials', () => {
  it('sends the scopes joined by the separator and tokenParameters', () => {
    const req = clientCredentialsRequest(t('auth0'), { clientId: 'c', domain: 'acme.eu.auth0.com', audience: 'https://api.acme.example', scopes: 'read:a, write:a' }, { clientSecret: 's' });
    expect(req.url).toBe('https://acme.eu.auth0.com/oauth/token');
    expect(form(req.body)).toEqual({ grant_type: 'client_credentials', scope: 'read:a write:a', audience: 'https://api.acme.example', client_id: 'c', client_secret: 's' });
  });

  it("uses the grant's own defaults (Graph .default)", () => {
    expect(form(clientCredentialsRequest(t('microsoft-graph'), { clientId: 'c', tenantId: 'contoso.com' }, { clientSecret: 's' }).body)).toMatchObject({
      scope: 'https://graph.microsoft.com/.default',
    });
  });

  it('omits scope when there is none', () => {
    expect(form(clientCredentialsRequest(t('spotify'), { clientId: 'c' }, { clientSecret: 's' }).body)).toEqual({ grant_type: 'client_credentials' });
  });
});
