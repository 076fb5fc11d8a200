import { clientSecretExpiresOn, findTemplate, templateParameters } from '../../../../shared/oauth/catalogue';
import { CATALOGUE } from '../../../../shared/oauth/catalogue/templates';
import { loadCatalogue } from '../../../../shared/oauth/catalogue/loader';
import type { ProviderTemplate } from '../../../../shared/oauth/template';

const base = (): ProviderTemplate => ({
  id: 'acme',
  displayName: 'Acme',
  grantTypes: {
    authorizationCode: {
      parameters: [
        { name: 'clientId', displayName: 'Client ID', kind: 'string', required: true, secret: false, description: 'id' },
        { name: 'tenant', displayName: 'Tenant', kind: 'string', required: true, secret: false, pattern: '[a-z]+', description: 'tenant' },
      ],
    },
  },
  endpoints: { authorizationUrl: 'https://{tenant}.acme.example/authorize', tokenUrl: 'https://{tenant}.acme.example/token' },
  clientAuthentication: 'body',
  scopeSeparator: ' ',
  pkce: 'S256',
  refreshToken: { issued: true, rotates: true },
  tokenResponse: { format: 'json' },
});

const broken = (change: (t: ProviderTemplate) => void): ProviderTemplate => {
  const t = base();
  change(t);
  return t;
};

describe('loadCatalogue', () => {
  it('accepts a valid template and freezes it', () => {
    const [t] = loadCatalogue([base()]);
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.endpoints)).toBe(true);
  });

  it.each([
    ['an unknown placeholder in an endpoint', (t: ProviderTemplate) => (t.endpoints.tokenUrl = 'https://{region}.acme.example/token'), /unknown parameter '\{region\}'/],
    ['an unknown placeholder in authorizeParameters', (t: ProviderTemplate) => (t.authorizeParameters = { audience: '{audience}' }), /authorizeParameters\.audience names unknown parameter/],
    ['an unknown placeholder in tokenParameters', (t: ProviderTemplate) => (t.tokenParameters = { resource: '{resource}' }), /tokenParameters\.resource names unknown parameter/],
    ['an http URL without placeholders', (t: ProviderTemplate) => (t.endpoints.tokenUrl = 'http://acme.example/token'), /endpoints\.tokenUrl must be https/],
    ['a bad id', (t: ProviderTemplate) => (t.id = 'Acme_Corp'), /id: must match/],
    ['a bad scope separator', (t: ProviderTemplate) => ((t as { scopeSeparator: string }).scopeSeparator = ';'), /scopeSeparator/],
    ['a parameter listed twice', (t: ProviderTemplate) => t.grantTypes.authorizationCode!.parameters.push(t.grantTypes.authorizationCode!.parameters[0]), /lists parameter 'clientId' twice/],
    [
      'a host placeholder without a pattern',
      (t: ProviderTemplate) => delete t.grantTypes.authorizationCode!.parameters[1].pattern,
      /parameter 'tenant' is used in endpoints\.authorizationUrl and needs a pattern/,
    ],
    ['a pattern that does not compile', (t: ProviderTemplate) => (t.grantTypes.authorizationCode!.parameters[1].pattern = '[a-z'), /not a valid regular expression/],
    ['a reserved authorize parameter', (t: ProviderTemplate) => (t.authorizeParameters = { client_id: 'x' }), /must not set 'client_id'/],
    ['a reserved token parameter', (t: ProviderTemplate) => (t.tokenParameters = { grant_type: 'password' }), /must not set 'grant_type'/],
    ['derived parameters without dynamic registration', (t: ProviderTemplate) => (t.derivedParameters = ['tokenUrl']), /derivedParameters need dynamicRegistration/],
    ['an unknown field', (t: ProviderTemplate) => Object.assign(t, { tokenUrl: 'https://acme.example/token' }), /Unrecognized key/],
    ['no grant type', (t: ProviderTemplate) => (t.grantTypes = {}), /no grant type/],
  ])('rejects %s, naming the template', (_name, change, message) => {
    const t = broken(change);
    expect(() => loadCatalogue([t])).toThrow(`Provider template '${t.id}' is invalid: `);
    expect(() => loadCatalogue([t])).toThrow(message);
  });

  it('rejects a duplicate id', () => {
    expect(() => loadCatalogue([base(), base()])).toThrow("Provider template 'acme' is invalid: the id is used by another template.");
  });

  it('lets dynamic-registration templates name derived parameters, URLs as-is', () => {
    const dcr = broken((t) => {
      t.grantTypes.authorizationCode!.parameters = [{ name: 'serverUrl', displayName: 'Server', kind: 'url', required: true, secret: false, description: 's' }];
      t.endpoints = { authorizationUrl: '{authorizationUrl}', tokenUrl: '{tokenUrl}' };
      t.dynamicRegistration = true;
      t.derivedParameters = ['authorizationUrl', 'tokenUrl', 'clientId'];
    });
    expect(() => loadCatalogue([dcr])).not.toThrow();
    const notDcr = { ...dcr, dynamicRegistration: false };
    expect(() => loadCatalogue([notDcr])).toThrow(/derivedParameters need dynamicRegistration/);
  });
});

describe('the catalogue', () => {
  it('keeps the exports other modules use', () => {
    expect(findTemplate('aad')?.displayName).toMatch(/Entra/);
    expect(findTemplate('nope')).toBeUndefined();
    const params = templateParameters(findTemplate('oauth2pkce')!, 'authorizationCode')!;
    expect(params.at(-1)).toBe(clientSecretExpiresOn);
    expect(params.find((p) => p.name === 'clientSecret')).toMatchObject({ required: false, secret: true });
    expect(templateParameters(findTemplate('oauth2pkce')!, 'clientCredentials')).toBeUndefined();
  });

  it('passes its own loader (ids unique, placeholders known)', () => {
    expect(new Set(CATALOGUE.map((t) => t.id)).size).toBe(CATALOGUE.length);
    expect(() => loadCatalogue(CATALOGUE)).not.toThrow();
  });

  it('gives every non-URL value that reaches a host or path a pattern, and secrets no defaults', () => {
    for (const t of CATALOGUE) {
      for (const g of Object.values(t.grantTypes)) {
        for (const p of g.parameters) {
          if (p.secret) expect(p.default).toBeUndefined();
          const inEndpoint = Object.values(t.endpoints).some((u) => u?.includes(`{${p.name}}`));
          if (inEndpoint && p.kind !== 'url') expect(p.pattern).toBeDefined();
        }
      }
    }
  });
});
