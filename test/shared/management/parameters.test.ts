import { validateParameters } from '../../../shared/management/parameters';
import { findTemplate } from '../../../shared/oauth/catalogue';

const t = (id: string) => findTemplate(id)!;
const target = 'properties.oauth2.grantTypes.authorizationCode';

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as { code: string; status: number; details: { code: string; target: string; message: string }[] };
  }
  throw new Error('expected a ValidationError');
};

describe('validateParameters: template patterns', () => {
  it.each(['evil.com/x', 'evil.com', 'a b', 'acme#', '-acme', 'x'.repeat(64)])('refuses the Zendesk subdomain %j with 400 naming the field', (subdomain) => {
    const err = failure(() => validateParameters(t('zendesk'), 'authorizationCode', { clientId: 'c', clientSecret: 's', subdomain }, target, { requireAll: true }));
    expect(err).toMatchObject({ code: 'ValidationError', status: 400 });
    expect(err.details).toEqual([expect.objectContaining({ code: 'InvalidValue', target: `${target}.subdomain` })]);
    expect(err.details[0].message).not.toContain(subdomain);
  });

  it('accepts values that match, anchored on both ends', () => {
    expect(validateParameters(t('zendesk'), 'authorizationCode', { clientId: 'c', clientSecret: 's', subdomain: 'acme-support' }, target, { requireAll: true }).plain).toMatchObject({
      subdomain: 'acme-support',
      scopes: 'read',
    });
    expect(() => validateParameters(t('okta'), 'authorizationCode', { clientId: 'c', domain: 'acme.okta.com.evil.example/' }, target, { requireAll: true })).toThrow(
      expect.objectContaining({ code: 'ValidationError' }),
    );
    expect(validateParameters(t('okta'), 'authorizationCode', { clientId: 'c', domain: 'login.acme.com' }, target, { requireAll: true }).plain).toMatchObject({
      domain: 'login.acme.com',
      authorizationServerId: 'default',
    });
  });

  it('checks URL parameters against their pattern too (no path or query smuggled into a login domain)', () => {
    const err = failure(() =>
      validateParameters(t('salesforce'), 'authorizationCode', { clientId: 'c', clientSecret: 's', instanceUrl: 'https://login.salesforce.com/x?y=' }, target, { requireAll: true }),
    );
    expect(err.details[0]).toMatchObject({ target: `${target}.instanceUrl` });
    expect(() =>
      validateParameters(t('salesforce'), 'authorizationCode', { clientId: 'c', clientSecret: 's', instanceUrl: 'https://acme.my.salesforce.com' }, target, { requireAll: true }),
    ).not.toThrow();
  });

  it('limits the generic clientAuthentication choice to basic or body', () => {
    const base = { clientId: 'c', clientSecret: 's', authorizationUrl: 'https://idp.example/a', tokenUrl: 'https://idp.example/t' };
    expect(validateParameters(t('oauth2'), 'authorizationCode', { ...base, clientAuthentication: 'basic' }, target, { requireAll: true }).plain.clientAuthentication).toBe('basic');
    expect(() => validateParameters(t('oauth2'), 'authorizationCode', { ...base, clientAuthentication: 'basicx' }, target, { requireAll: true })).toThrow(
      expect.objectContaining({ code: 'ValidationError' }),
    );
    // No default is stored: the template's own (body) applies at run time.
    expect(validateParameters(t('oauth2'), 'authorizationCode', base, target, { requireAll: true }).plain).not.toHaveProperty('clientAuthentication');
  });
});
