import { findTemplate } from '../../../shared/oauth/catalogue';
import { resolveEndpoints, substitute, substituteValue } from '../../../shared/oauth/endpoints';

const t = (id: string) => findTemplate(id)!;

describe('substitute', () => {
  it('inserts url parameters as-is without a trailing slash, encodes the others', () => {
    expect(substitute('{serverUrl}/realms/{realm}/token', { serverUrl: 'https://sso.example.com/auth/', realm: 'a b/c' }, t('keycloak'))).toBe('https://sso.example.com/auth/realms/a%20b%2Fc/token');
  });

  it('encodes every value when no template says which are URLs', () => {
    expect(substitute('https://x.example/{a}', { a: 'https://y' })).toBe('https://x.example/https%3A%2F%2Fy');
  });

  it('throws 409 ProviderMisconfigured naming a missing or empty parameter', () => {
    expect(() => substitute('https://{subdomain}.zendesk.com', {})).toThrow(expect.objectContaining({ code: 'ProviderMisconfigured', status: 409 }));
    expect(() => substitute('https://{subdomain}.zendesk.com', { subdomain: '' })).toThrow(/'subdomain'/);
  });

  it('fills parameter values unencoded, scopes joined by the separator', () => {
    expect(substituteValue(t('aad'), '{resourceUri}', { resourceUri: 'https://graph.microsoft.com/' })).toBe('https://graph.microsoft.com/');
    expect(substituteValue(t('zendesk'), '{scopes}', { scopes: 'read,  write' })).toBe('read write');
    expect(substituteValue(t('zoho'), '{scopes}', { scopes: 'a b' })).toBe('a,b');
  });
});

describe('resolveEndpoints', () => {
  it('fills defaults (Entra login URL and tenant)', () => {
    expect(resolveEndpoints(t('aad'), { resourceUri: 'https://graph.microsoft.com' })).toEqual({
      authorizationUrl: 'https://login.windows.net/common/oauth2/authorize',
      tokenUrl: 'https://login.windows.net/common/oauth2/token',
      refreshUrl: 'https://login.windows.net/common/oauth2/token',
    });
  });

  it('uses a separate refresh URL where the provider has one (Figma)', () => {
    expect(resolveEndpoints(t('figma'), {}).refreshUrl).toBe('https://api.figma.com/v1/oauth/refresh');
    expect(resolveEndpoints(t('figma'), {}).tokenUrl).toBe('https://api.figma.com/v1/oauth/token');
  });

  it('falls back to the token URL when the optional refreshUrl is not given', () => {
    const params = { authorizationUrl: 'https://idp.example/a', tokenUrl: 'https://idp.example/t' };
    expect(resolveEndpoints(t('oauth2'), params).refreshUrl).toBe('https://idp.example/t');
    expect(resolveEndpoints(t('oauth2'), { ...params, refreshUrl: 'https://idp.example/r' }).refreshUrl).toBe('https://idp.example/r');
  });

  it('leaves out the authorization URL of a client-credentials-only provider', () => {
    expect(resolveEndpoints(t('oauth2'), { tokenUrl: 'http://localhost:8080/token' })).toEqual({
      tokenUrl: 'http://localhost:8080/token',
      refreshUrl: 'http://localhost:8080/token',
    });
  });

  it('resolves self-managed instances and derived endpoints', () => {
    expect(resolveEndpoints(t('gitlab'), { instanceUrl: 'https://git.example.com/gitlab/' }).tokenUrl).toBe('https://git.example.com/gitlab/oauth/token');
    expect(resolveEndpoints(t('oauth2.1-dcr'), { serverUrl: 'https://mcp.example', authorizationUrl: 'https://as.example/authorize', tokenUrl: 'https://as.example/token' })).toEqual({
      authorizationUrl: 'https://as.example/authorize',
      tokenUrl: 'https://as.example/token',
      refreshUrl: 'https://as.example/token',
    });
  });

  it('requires the token URL, and refuses what is not an http(s) URL', () => {
    expect(() => resolveEndpoints(t('zendesk'), {})).toThrow(expect.objectContaining({ code: 'ProviderMisconfigured', message: expect.stringContaining("'subdomain'") }));
    expect(() => resolveEndpoints(t('oauth2'), { tokenUrl: 'ftp://idp.example/t' })).toThrow(expect.objectContaining({ code: 'ProviderMisconfigured' }));
    expect(() => resolveEndpoints(t('oauth2'), { tokenUrl: 'https://user:pw@idp.example/t' })).toThrow(/credentials/);
    expect(() => resolveEndpoints(t('oauth2'), { tokenUrl: 'not a url' })).toThrow(/not a valid URL/);
  });

  it('keeps an encoded value inside the host even without the save-time pattern check', () => {
    expect(new URL(resolveEndpoints(t('shopify'), { shop: 'evil.com' }).tokenUrl).hostname).toBe('evil.com.myshopify.com');
    expect(() => resolveEndpoints(t('shopify'), { shop: 'evil.com/x?' })).toThrow(expect.objectContaining({ code: 'ProviderMisconfigured' }));
  });
});
