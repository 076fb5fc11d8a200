import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAuthorizeUrl } from '../../../../shared/oauth/authorizeUrl';
import { findTemplate } from '../../../../shared/oauth/catalogue';
import { CATALOGUE } from '../../../../shared/oauth/catalogue/templates';
import { readTokenResponse } from '../../../../shared/oauth/tokenResponse';

// Every template, twice: the authorize URL it builds for sample values (host, path, protocol
// parameters, scopes with the provider's separator, PKCE, extras), and the token responses it
// reads, from fixtures shaped like the provider's documented answers. A template without an entry
// here or a fixture file fails the coverage tests.

interface AuthorizeCase {
  params: Record<string, string>;
  /** Origin and path of the authorization endpoint. */
  url: string;
  /** The scopes as sent, or undefined when none are. */
  scope?: string;
  scopeParam?: string;
  pkce: boolean;
  extra?: Record<string, string>;
}

const AUTHORIZE: Record<string, AuthorizeCase> = {
  oauth2: {
    params: { authorizationUrl: 'https://idp.example/authorize?audience=api', tokenUrl: 'https://idp.example/token', scopes: 'read, write' },
    url: 'https://idp.example/authorize',
    scope: 'read write',
    pkce: true,
    extra: { audience: 'api' },
  },
  oauth2pkce: {
    params: { authorizationUrl: 'https://idp.example/oauth/authorize', tokenUrl: 'https://idp.example/oauth/token', scopes: 'openid,profile' },
    url: 'https://idp.example/oauth/authorize',
    scope: 'openid profile',
    pkce: true,
  },
  'oauth2.1-dcr': {
    params: { serverUrl: 'https://mcp.example/mcp', authorizationUrl: 'https://auth.mcp.example/authorize', tokenUrl: 'https://auth.mcp.example/token', clientId: 'dcr-client', scopes: 'mcp:tools' },
    url: 'https://auth.mcp.example/authorize',
    scope: 'mcp:tools',
    pkce: true,
  },
  aad: {
    params: { resourceUri: 'https://graph.microsoft.com', tenantId: 'contoso.onmicrosoft.com' },
    url: 'https://login.windows.net/contoso.onmicrosoft.com/oauth2/authorize',
    pkce: true,
    extra: { resource: 'https://graph.microsoft.com' },
  },
  aadv2: { params: { tenantId: 'organizations' }, url: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize', scope: 'openid profile offline_access', pkce: true },
  'microsoft-graph': { params: {}, url: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize', scope: 'offline_access User.Read', pkce: true },
  google: {
    params: { scopes: 'openid email https://www.googleapis.com/auth/drive.readonly' },
    url: 'https://accounts.google.com/o/oauth2/v2/auth',
    scope: 'openid email https://www.googleapis.com/auth/drive.readonly',
    pkce: true,
    extra: { access_type: 'offline', prompt: 'consent' },
  },
  okta: { params: { domain: 'example.okta.com' }, url: 'https://example.okta.com/oauth2/default/v1/authorize', scope: 'openid offline_access', pkce: true },
  auth0: {
    params: { domain: 'example.us.auth0.com', audience: 'https://api.example.com' },
    url: 'https://example.us.auth0.com/authorize',
    scope: 'openid offline_access',
    pkce: true,
    extra: { audience: 'https://api.example.com' },
  },
  keycloak: {
    params: { serverUrl: 'https://sso.example.com/', realm: 'acme' },
    url: 'https://sso.example.com/realms/acme/protocol/openid-connect/auth',
    scope: 'openid offline_access',
    pkce: true,
  },
  github: { params: { scopes: 'repo read:user' }, url: 'https://github.com/login/oauth/authorize', scope: 'repo read:user', pkce: true },
  gitlab: { params: {}, url: 'https://gitlab.com/oauth/authorize', scope: 'read_user', pkce: true },
  bitbucket: { params: {}, url: 'https://bitbucket.org/site/oauth2/authorize', pkce: false },
  atlassian: {
    params: { scopes: 'read:jira-work offline_access' },
    url: 'https://auth.atlassian.com/authorize',
    scope: 'read:jira-work offline_access',
    pkce: false,
    extra: { audience: 'api.atlassian.com', prompt: 'consent' },
  },
  linear: { params: { scopes: 'read write' }, url: 'https://linear.app/oauth/authorize', scope: 'read,write', pkce: false },
  figma: { params: { scopes: 'file_content:read file_comments:read' }, url: 'https://www.figma.com/oauth', scope: 'file_content:read,file_comments:read', pkce: false },
  slack: { params: { scopes: 'channels:read chat:write' }, url: 'https://slack.com/oauth/v2/authorize', scopeParam: 'user_scope', scope: 'channels:read,chat:write', pkce: true },
  notion: { params: {}, url: 'https://api.notion.com/v1/oauth/authorize', pkce: false, extra: { owner: 'user' } },
  asana: { params: {}, url: 'https://app.asana.com/-/oauth_authorize', scope: 'default', pkce: true },
  zoom: { params: {}, url: 'https://zoom.us/oauth/authorize', pkce: true },
  dropbox: {
    params: { scopes: 'files.content.read account_info.read' },
    url: 'https://www.dropbox.com/oauth2/authorize',
    scope: 'files.content.read account_info.read',
    pkce: true,
    extra: { token_access_type: 'offline' },
  },
  box: { params: {}, url: 'https://account.box.com/api/oauth2/authorize', pkce: false },
  calendly: { params: {}, url: 'https://auth.calendly.com/oauth/authorize', pkce: true },
  discord: { params: { scopes: 'identify email' }, url: 'https://discord.com/oauth2/authorize', scope: 'identify email', pkce: false },
  salesforce: { params: {}, url: 'https://login.salesforce.com/services/oauth2/authorize', scope: 'api refresh_token', pkce: true },
  servicenow: { params: { instanceUrl: 'https://acme.service-now.com' }, url: 'https://acme.service-now.com/oauth_auth.do', pkce: false },
  zoho: {
    params: { accountsUrl: 'https://accounts.zoho.eu', scopes: 'ZohoCRM.modules.ALL ZohoCRM.users.READ' },
    url: 'https://accounts.zoho.eu/oauth/v2/auth',
    scope: 'ZohoCRM.modules.ALL,ZohoCRM.users.READ',
    pkce: false,
    extra: { access_type: 'offline', prompt: 'consent' },
  },
  hubspot: { params: { scopes: 'oauth crm.objects.contacts.read' }, url: 'https://app.hubspot.com/oauth/authorize', scope: 'oauth crm.objects.contacts.read', pkce: true },
  zendesk: { params: { subdomain: 'acme', scopes: 'read write' }, url: 'https://acme.zendesk.com/oauth/authorizations/new', scope: 'read write', pkce: true },
  docusign: { params: { accountServer: 'https://account-d.docusign.com' }, url: 'https://account-d.docusign.com/oauth/auth', scope: 'signature extended', pkce: true },
  xero: { params: {}, url: 'https://login.xero.com/identity/connect/authorize', scope: 'openid profile email offline_access', pkce: true },
  intuit: {
    params: { scopes: 'com.intuit.quickbooks.accounting openid' },
    url: 'https://appcenter.intuit.com/connect/oauth2',
    scope: 'com.intuit.quickbooks.accounting openid',
    pkce: false,
  },
  shopify: {
    params: { shop: 'acme-store', scopes: 'read_products write_orders' },
    url: 'https://acme-store.myshopify.com/admin/oauth/authorize',
    scope: 'read_products,write_orders',
    pkce: false,
  },
  stripe: { params: {}, url: 'https://connect.stripe.com/oauth/authorize', scope: 'read_write', pkce: false },
  linkedin: { params: {}, url: 'https://www.linkedin.com/oauth/v2/authorization', scope: 'openid profile email', pkce: false },
  x: { params: {}, url: 'https://x.com/i/oauth2/authorize', scope: 'tweet.read users.read offline.access', pkce: true },
  reddit: { params: {}, url: 'https://www.reddit.com/api/v1/authorize', scope: 'identity read', pkce: false, extra: { duration: 'permanent' } },
  pinterest: { params: { scopes: 'boards:read pins:read' }, url: 'https://www.pinterest.com/oauth/', scope: 'boards:read,pins:read', pkce: false },
  spotify: { params: {}, url: 'https://accounts.spotify.com/authorize', scope: 'user-read-email', pkce: true },
};

const FIXTURES = join(__dirname, '../../../fixtures/tokenResponses');
const ids = CATALOGUE.map((t) => t.id);

describe('coverage', () => {
  it('has at least 30 templates', () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(30);
  });

  it('has an authorize case for every template and none for unknown ones', () => {
    expect(Object.keys(AUTHORIZE).sort()).toEqual([...ids].sort());
  });

  it('has a token response fixture for every template and none for unknown ones', () => {
    const files = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length));
    expect(files.sort()).toEqual([...ids].sort());
  });
});

describe.each(ids)('%s authorize URL', (id) => {
  it('targets the provider with the protocol parameters, scopes, PKCE and extras', () => {
    const template = findTemplate(id)!;
    const c = AUTHORIZE[id];
    const params = { clientId: 'client-123', ...c.params };
    const url = new URL(buildAuthorizeUrl(template, params, { redirectUri: 'https://credman.example/api/consent/callback', state: 'st-42', codeChallenge: 'ch-abc' }));
    expect(`${url.origin}${url.pathname}`).toBe(c.url);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(params.clientId);
    expect(q.get('redirect_uri')).toBe('https://credman.example/api/consent/callback');
    expect(q.get('state')).toBe('st-42');
    const scopeParam = c.scopeParam ?? 'scope';
    expect(q.get(scopeParam) ?? undefined).toBe(c.scope);
    if (scopeParam !== 'scope') expect(q.has('scope')).toBe(false);
    expect(q.get('code_challenge') ?? undefined).toBe(c.pkce ? 'ch-abc' : undefined);
    expect(q.get('code_challenge_method') ?? undefined).toBe(c.pkce ? 'S256' : undefined);
    for (const [k, v] of Object.entries(c.extra ?? {})) expect(q.get(k)).toBe(v);
    const expected = [
      'response_type',
      'client_id',
      'redirect_uri',
      'state',
      ...(c.scope ? [scopeParam] : []),
      ...(c.pkce ? ['code_challenge', 'code_challenge_method'] : []),
      ...Object.keys(c.extra ?? {}),
    ];
    expect([...q.keys()].sort()).toEqual(expected.sort());
    // Spaces travel as %20, never as '+', which some servers read literally.
    expect(url.search).not.toContain('+');
  });
});

interface FixtureCase {
  name: string;
  status: number;
  contentType: string;
  body?: Record<string, unknown>;
  text?: string;
  expect: Record<string, unknown>;
}

function fixture(id: string): { _source: string; template: string; cases: FixtureCase[] } {
  return JSON.parse(readFileSync(join(FIXTURES, `${id}.json`), 'utf8'));
}

const secretValues = (obj: Record<string, unknown>): string[] => {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (['access_token', 'refresh_token', 'id_token'].includes(k) && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(obj);
  return out;
};

describe.each(ids)('%s token responses', (id) => {
  const f = fixture(id);
  const template = findTemplate(id)!;

  it('names its documentation source and has a success case', () => {
    expect(f.template).toBe(id);
    expect(f._source).toMatch(/^https:\/\//);
    expect(f.cases.some((c) => !('error' in c.expect))).toBe(true);
  });

  it.each(f.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const body = c.text ?? JSON.stringify(c.body);
    const r = readTokenResponse(template, { status: c.status, contentType: c.contentType, body });
    const e = c.expect;
    if ('error' in e) {
      // The code only: the provider's description is never read (docs/oauth.md).
      expect(r).toEqual({ kind: 'error', error: e.error });
      return;
    }
    if (r.kind !== 'token') throw new Error(`expected a token, got ${JSON.stringify(r)}`);
    const t = r.token;
    const root = c.body ?? Object.fromEntries(new URLSearchParams(c.text));
    const tokenObject = (template.tokenResponse.tokenPath && (root[template.tokenResponse.tokenPath] as Record<string, unknown>)) || root;
    expect(t.accessToken).toBe(e.accessToken ?? tokenObject.access_token);
    expect(t.tokenType).toBe(e.tokenType);
    if ('expiresIn' in e) expect(t.expiresIn).toBe(e.expiresIn ?? undefined);
    if ('refreshTokenExpiresIn' in e) expect(t.refreshTokenExpiresIn).toBe(e.refreshTokenExpiresIn ?? undefined);
    if ('scope' in e) expect(t.scope).toBe(e.scope);
    expect(t.refreshToken).toBe(e.refreshToken ? tokenObject.refresh_token : undefined);
    expect(t.idToken).toBe(e.idToken ? tokenObject.id_token : undefined);
    for (const k of (e.claims as string[] | undefined) ?? []) expect(t.claims).toHaveProperty(k);
    const claimsText = JSON.stringify(t.claims);
    for (const secret of secretValues(root)) expect(claimsText).not.toContain(secret);
  });
});
