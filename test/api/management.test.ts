import { odata } from '@azure/data-tables';
import { authCodeConnection, isErrorShape, oauth2Provider, startHost, type TestHost } from '../support/host';

let host: TestHost;
beforeAll(async () => {
  host = await startHost();
}, 60000);
afterAll(async () => {
  await host?.stop();
});

const rows = async (table: string, pk: string) => {
  const out: Record<string, unknown>[] = [];
  for await (const e of host.table(table).listEntities({ queryOptions: { filter: odata`PartitionKey eq ${pk}` } })) out.push(e);
  return out;
};

describe('credential providers', () => {
  it('creates (201), replaces (200) and reads with ETags; secrets are write-only', async () => {
    const created = await host.request('PUT', '/providers/gh', { body: oauth2Provider() });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBeTruthy();
    expect(created.body).toMatchObject({ id: '/providers/gh', name: 'gh', type: 'providers' });
    expect(created.body.properties.oauth2.redirectUrl).toBe(`${host.baseUrl}/api/consent/callback`);
    expect(created.body.properties.oauth2.grantTypes.authorizationCode).toEqual({
      clientId: 'client-123',
      authorizationUrl: 'https://github.example/login/oauth/authorize',
      tokenUrl: 'https://github.example/login/oauth/access_token',
      scopes: 'repo user',
    });
    expect(created.text).not.toContain('provider-secret');

    const replaced = await host.request('PUT', '/providers/gh', { body: oauth2Provider({ scopes: 'repo' }) });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).not.toBe(created.headers.get('etag'));
    expect(replaced.body.properties.createdOn).toBe(created.body.properties.createdOn);

    const got = await host.request('GET', '/providers/gh');
    expect(got.status).toBe(200);
    expect(got.headers.get('etag')).toBe(replaced.headers.get('etag'));
    expect(got.body).toEqual(replaced.body);
    expect(got.text).not.toContain('provider-secret');
  });

  it('honours If-Match on PUT and DELETE (412 on mismatch)', async () => {
    const first = await host.request('PUT', '/providers/cond', { body: oauth2Provider() });
    const etag = first.headers.get('etag') as string;
    const second = await host.request('PUT', '/providers/cond', { body: oauth2Provider(), headers: { 'if-match': etag } });
    expect(second.status).toBe(200);
    const stale = await host.request('PUT', '/providers/cond', { body: oauth2Provider(), headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.error.code).toBe('PreconditionFailed');
    const staleDelete = await host.request('DELETE', '/providers/cond', { headers: { 'if-match': etag } });
    expect(staleDelete.status).toBe(412);
    const absentCreate = await host.request('PUT', '/providers/cond-new', { body: oauth2Provider(), headers: { 'if-match': etag } });
    expect(absentCreate.status).toBe(412);
    const del = await host.request('DELETE', '/providers/cond', { headers: { 'if-match': second.headers.get('etag') as string } });
    expect(del.status).toBe(200);
    expect((await host.request('DELETE', '/providers/cond')).status).toBe(204);
    expect((await host.request('GET', '/providers/cond')).body.error.code).toBe('ProviderNotFound');
  });

  it('creates only with If-None-Match: * on every PUT (412 when it exists, nothing replaced); refuses other values and both headers', async () => {
    const createOnly = { 'if-none-match': '*' };
    const puts: Array<[string, unknown]> = [
      ['/providers/once', oauth2Provider()],
      ['/providers/once/connections/c', authCodeConnection],
      ['/providers/once/connections/c/accessPolicies/p', { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: '22222222-2222-4222-8222-222222222222' } }],
      ['/webhooks/once', { properties: { url: 'https://hooks.example/x', events: ['connection.deleted'] } }],
    ];
    for (const [path, body] of puts) {
      const first = await host.request('PUT', path, { body, headers: createOnly });
      expect([path, first.status]).toEqual([path, 201]);
      const again = await host.request('PUT', path, { body, headers: createOnly });
      expect([path, again.status, again.body.error.code]).toEqual([path, 412, 'PreconditionFailed']);
      expect((await host.request('GET', path)).headers.get('etag')).toBe(first.headers.get('etag'));
      for (const headers of [{ 'if-none-match': '"some-etag"' }, { ...createOnly, 'if-match': first.headers.get('etag') as string }]) {
        const bad = await host.request('PUT', path, { body, headers });
        expect([path, bad.status, bad.body.error.details[0].target]).toEqual([path, 400, 'If-None-Match']);
      }
      expect((await host.request('GET', path)).headers.get('etag')).toBe(first.headers.get('etag'));
    }
  });

  it('pages with $top and nextLink, every item once', async () => {
    for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      expect((await host.request('PUT', `/providers/page-${id}`, { body: oauth2Provider() })).status).toBe(201);
    }
    const seen: string[] = [];
    let next: string | undefined = '/providers?$top=2';
    let pages = 0;
    while (next) {
      const page = await host.request('GET', next);
      expect(page.status).toBe(200);
      expect(page.body.value.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.value.map((p: { name: string }) => p.name));
      next = page.body.nextLink;
      if (next) expect(next).toMatch(/^http:\/\/localhost:\d+\/api\/providers\?/);
      pages++;
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['page-p1', 'page-p2', 'page-p3', 'page-p4', 'page-p5']));
    const all = await host.request('GET', '/providers');
    expect(all.body.nextLink).toBeUndefined();
    for (const bad of ['0', '101', 'x', '1.5']) {
      const r = await host.request('GET', `/providers?$top=${bad}`);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('ValidationError');
    }
    const forged = await host.request('GET', `/providers?$skipToken=${Buffer.from(`{"after":"x' or PartitionKey ne '"}`).toString('base64url')}`);
    expect(forged.status).toBe(400);
  });

  it.each([
    ['an unknown template', { identityProvider: 'nope' }, 'properties.identityProvider'],
    ['a missing required parameter', { drop: 'clientId' }, 'properties.oauth2.grantTypes.authorizationCode.clientId'],
    ['an unknown parameter', { add: { colour: 'blue' } }, 'properties.oauth2.grantTypes.authorizationCode.colour'],
    ['a malformed URL', { add: { tokenUrl: 'not a url' } }, 'properties.oauth2.grantTypes.authorizationCode.tokenUrl'],
    ['a malformed clientSecretExpiresOn', { add: { clientSecretExpiresOn: 'soon' } }, 'properties.oauth2.grantTypes.authorizationCode.clientSecretExpiresOn'],
  ])('rejects %s with 400 naming the field', async (_name, change: { identityProvider?: string; drop?: string; add?: Record<string, string> }, target) => {
    const body = oauth2Provider(change.add ?? {});
    if (change.identityProvider) body.properties.identityProvider = change.identityProvider;
    if (change.drop) delete (body.properties.oauth2.grantTypes.authorizationCode as Record<string, string>)[change.drop];
    const r = await host.request('PUT', '/providers/invalid', { body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('ValidationError');
    expect(r.body.error.details.map((d: { target: string }) => d.target)).toContain(target);
    expect((await host.request('GET', '/providers/invalid')).status).toBe(404);
  });

  it('rejects a grant type the template does not support', async () => {
    const body = { properties: { identityProvider: 'oauth2pkce', oauth2: { grantTypes: { clientCredentials: { clientId: 'a', clientSecret: 'b', tokenUrl: 'https://x.example/t' } } } } };
    const r = await host.request('PUT', '/providers/pkce', { body });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('UnsupportedGrantType');
  });

  it('serves the catalogue with each parameter and whether it is secret', async () => {
    const r = await host.request('GET', '/identityProviders');
    expect(r.status).toBe(200);
    const names = r.body.value.map((t: { name: string }) => t.name);
    expect(names).toEqual(expect.arrayContaining(['oauth2', 'oauth2pkce', 'aad']));
    const aad = r.body.value.find((t: { name: string }) => t.name === 'aad');
    const params = aad.properties.grantTypes.authorizationCode.parameters;
    expect(params.find((p: { name: string }) => p.name === 'clientSecret')).toMatchObject({ required: true, secret: true });
    expect(params.find((p: { name: string }) => p.name === 'tenantId')).toMatchObject({ default: 'common' });
  });

  it('requires the admin role (403) and a token (401)', async () => {
    const user = await host.token({});
    const forbidden = await host.request('GET', '/providers', { token: user });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('Forbidden');
    const anonymous = await host.request('GET', '/providers', { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('enforces 1,000 providers with 409 LimitExceeded; replacing an existing one still works', async () => {
    const counter = await host.table('credmanProviders').getEntity<{ count: number }>('providers', '!count');
    await host.table('credmanProviders').updateEntity({ partitionKey: 'providers', rowKey: '!count', count: 1000 }, 'Replace', { etag: counter.etag });
    try {
      const over = await host.request('PUT', '/providers/one-too-many', { body: oauth2Provider() });
      expect(over.status).toBe(409);
      expect(over.body.error.code).toBe('LimitExceeded');
      expect((await host.request('PUT', '/providers/gh', { body: oauth2Provider() })).status).toBe(200);
    } finally {
      const now = await host.table('credmanProviders').getEntity('providers', '!count');
      await host.table('credmanProviders').updateEntity({ partitionKey: 'providers', rowKey: '!count', count: counter.count }, 'Replace', { etag: now.etag });
    }
  });
});

describe('connections', () => {
  beforeAll(async () => {
    expect((await host.request('PUT', '/providers/conn-p', { body: oauth2Provider() })).status).toBe(201);
  });

  it('creates a Pending connection with a default policy for the app identity, replaces idempotently', async () => {
    const created = await host.request('PUT', '/providers/conn-p/connections/alice', { body: authCodeConnection });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: '/providers/conn-p/connections/alice',
      name: 'alice',
      type: 'connections',
      properties: { authorizationType: 'OAuth2', oauth2grantType: 'AuthorizationCode', status: 'Pending' },
    });
    const policies = await host.request('GET', '/providers/conn-p/connections/alice/accessPolicies');
    expect(policies.body.value).toEqual([expect.objectContaining({ properties: { tenantId: '00000000-0000-4000-8000-00000000de01', objectId: '00000000-0000-4000-8000-00000000a901' } })]);
    const again = await host.request('PUT', '/providers/conn-p/connections/alice', { body: authCodeConnection });
    expect(again.status).toBe(200);
    expect(again.body.properties.status).toBe('Pending');
    const got = await host.request('GET', '/providers/conn-p/connections/alice');
    expect(got.headers.get('etag')).toBe(again.headers.get('etag'));
  });

  it('keeps connection parameter secrets write-only', async () => {
    const body = { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials', parameters: { clientId: 'svc', clientSecret: 'connection-secret-VALUE' } } };
    const r = await host.request('PUT', '/providers/conn-p/connections/daemon', { body });
    expect(r.status).toBe(201);
    expect(r.body.properties.parameters).toEqual({ clientId: 'svc' });
    expect(r.text).not.toContain('connection-secret');
    expect((await host.request('GET', '/providers/conn-p/connections/daemon')).text).not.toContain('connection-secret');
  });

  it('answers 404 with the right code and 400 for a grant the provider lacks', async () => {
    expect((await host.request('PUT', '/providers/missing/connections/x', { body: authCodeConnection })).body.error.code).toBe('ProviderNotFound');
    expect((await host.request('GET', '/providers/missing/connections')).body.error.code).toBe('ProviderNotFound');
    expect((await host.request('GET', '/providers/conn-p/connections/nobody')).body.error.code).toBe('ConnectionNotFound');
    const pkce = {
      properties: { identityProvider: 'oauth2pkce', oauth2: { grantTypes: { authorizationCode: { clientId: 'a', authorizationUrl: 'https://x.example/a', tokenUrl: 'https://x.example/t' } } } },
    };
    expect((await host.request('PUT', '/providers/pkce-only', { body: pkce })).status).toBe(201);
    const cc = await host.request('PUT', '/providers/pkce-only/connections/c', { body: { properties: { authorizationType: 'OAuth2', oauth2grantType: 'ClientCredentials' } } });
    expect(cc.status).toBe(400);
    expect(cc.body.error.code).toBe('UnsupportedGrantType');
  });

  it('pages connections', async () => {
    for (const c of ['c1', 'c2', 'c3']) await host.request('PUT', `/providers/conn-p/connections/page-${c}`, { body: authCodeConnection });
    const first = await host.request('GET', '/providers/conn-p/connections?$top=2');
    expect(first.body.value).toHaveLength(2);
    expect(new URL(first.body.nextLink).searchParams.get('$skipToken')).toBeTruthy();
    const second = await host.request('GET', first.body.nextLink);
    expect(second.status).toBe(200);
    expect(second.body.value[0].name > first.body.value[1].name).toBe(true);
  });

  it('deletes a connection with its policies (200), then 204', async () => {
    await host.request('PUT', '/providers/conn-p/connections/bob', { body: authCodeConnection });
    expect(await rows('credmanAccessPolicies', 'conn-p:bob')).not.toHaveLength(0);
    expect((await host.request('DELETE', '/providers/conn-p/connections/bob')).status).toBe(200);
    expect(await rows('credmanAccessPolicies', 'conn-p:bob')).toHaveLength(0);
    expect((await host.request('DELETE', '/providers/conn-p/connections/bob')).status).toBe(204);
  });

  it('enforces 10,000 connections per provider', async () => {
    const t = host.table('credmanConnections');
    const counter = await t.getEntity<{ count: number }>('conn-p', '!count');
    await t.updateEntity({ partitionKey: 'conn-p', rowKey: '!count', count: 10000 }, 'Replace', { etag: counter.etag });
    try {
      const over = await host.request('PUT', '/providers/conn-p/connections/over', { body: authCodeConnection });
      expect(over.status).toBe(409);
      expect(over.body.error.code).toBe('LimitExceeded');
      expect((await host.request('GET', '/providers/conn-p/connections/over')).status).toBe(404);
    } finally {
      const now = await t.getEntity('conn-p', '!count');
      await t.updateEntity({ partitionKey: 'conn-p', rowKey: '!count', count: counter.count }, 'Replace', { etag: now.etag });
    }
  });
});

describe('access policies', () => {
  const base = '/providers/pol-p/connections/c/accessPolicies';
  beforeAll(async () => {
    await host.request('PUT', '/providers/pol-p', { body: oauth2Provider() });
    await host.request('PUT', '/providers/pol-p/connections/c', { body: authCodeConnection });
  });

  it('creates Entra and issuer policies, rejects untrusted issuers, reads, deletes', async () => {
    const entra = { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: '22222222-2222-4222-8222-222222222222', appIds: ['33333333-3333-4333-8333-333333333333'] } };
    const created = await host.request('PUT', `${base}/ops-team`, { body: entra });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: `${base}/ops-team`, type: 'accessPolicies', properties: entra.properties });
    expect((await host.request('PUT', `${base}/ops-team`, { body: entra })).status).toBe(200);
    const trusted = await host.request('PUT', `${base}/k8s`, { body: { properties: { issuer: host.issuer.issuer, subject: 'system:serviceaccount:jobs:sync' } } });
    expect(trusted.status).toBe(201);
    const untrusted = await host.request('PUT', `${base}/evil`, { body: { properties: { issuer: 'https://evil.example', subject: 'x' } } });
    expect(untrusted.status).toBe(400);
    expect(untrusted.body.error.details[0].target).toBe('properties.issuer');
    const got = await host.request('GET', `${base}/ops-team`);
    expect(got.headers.get('etag')).toBeTruthy();
    expect((await host.request('DELETE', `${base}/ops-team`)).status).toBe(200);
    expect((await host.request('DELETE', `${base}/ops-team`)).status).toBe(204);
    expect((await host.request('GET', `${base}/ops-team`)).body.error.code).toBe('PolicyNotFound');
  });

  it('answers ProviderNotFound / ConnectionNotFound for missing parents', async () => {
    const body = { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: '22222222-2222-4222-8222-222222222222' } };
    expect((await host.request('PUT', '/providers/none/connections/c/accessPolicies/x', { body })).body.error.code).toBe('ProviderNotFound');
    expect((await host.request('PUT', '/providers/pol-p/connections/none/accessPolicies/x', { body })).body.error.code).toBe('ConnectionNotFound');
    expect((await host.request('GET', '/providers/pol-p/connections/none/accessPolicies')).body.error.code).toBe('ConnectionNotFound');
  });

  it('holds at most 100 policies per connection, even when created concurrently', async () => {
    await host.request('PUT', '/providers/pol-p/connections/full', { body: authCodeConnection });
    const objectId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    const results = await Promise.all(
      Array.from({ length: 110 }, (_, i) =>
        host.request('PUT', `/providers/pol-p/connections/full/accessPolicies/p${i}`, {
          body: { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: objectId(i) } },
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(99); // plus the default policy
    expect(statuses.filter((s) => s === 409)).toHaveLength(11);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('LimitExceeded');
    const stored = (await rows('credmanAccessPolicies', 'pol-p:full')).filter((e) => e.rowKey !== '!count');
    expect(stored).toHaveLength(100);
  }, 60000);
});

describe('provider delete', () => {
  it('removes the provider with every connection and policy under it', async () => {
    await host.request('PUT', '/providers/doomed', { body: oauth2Provider() });
    for (const c of ['a', 'b', 'c']) {
      await host.request('PUT', `/providers/doomed/connections/${c}`, { body: authCodeConnection });
      await host.request('PUT', `/providers/doomed/connections/${c}/accessPolicies/extra`, {
        body: { properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: '22222222-2222-4222-8222-222222222222' } },
      });
    }
    expect((await host.request('DELETE', '/providers/doomed')).status).toBe(200);
    expect(await rows('credmanConnections', 'doomed')).toHaveLength(0);
    for (const c of ['a', 'b', 'c']) expect(await rows('credmanAccessPolicies', `doomed:${c}`)).toHaveLength(0);
    expect((await host.request('GET', '/providers/doomed')).status).toBe(404);
    expect((await host.request('DELETE', '/providers/doomed')).status).toBe(204);
  });
});

describe('operations', () => {
  it('reports health anonymously', async () => {
    const r = await host.request('GET', '/health', { token: null });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'Healthy', checks: { storage: 'Healthy', keyVault: 'Healthy' } });
  });

  it('serves an OpenAPI 3.1 document covering every route', async () => {
    const r = await host.request('GET', '/openapi.json', { token: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        '/providers',
        '/providers/{providerId}',
        '/providers/{providerId}/connections',
        '/providers/{providerId}/connections/{connectionId}',
        '/providers/{providerId}/connections/{connectionId}/accessPolicies',
        '/providers/{providerId}/connections/{connectionId}/accessPolicies/{policyId}',
        '/identityProviders',
        '/health',
      ]),
    );
    expect(r.body.paths['/providers/{providerId}'].put.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ProviderPut' });
    expect(r.body.components.schemas.ProviderPut.properties.properties).toBeDefined();
    expect(r.text).not.toContain('$defs');
  });

  it('answers unknown routes in the error shape', async () => {
    const r = await host.request('GET', '/no/such/route');
    expect(r.status).toBe(404);
    expect(isErrorShape(r.body)).toBe(true);
  });
});
