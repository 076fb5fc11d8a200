import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TableClient, TableEntityResult } from '@azure/data-tables';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DEV_APP_OBJECT_ID, DEV_TENANT_ID } from '../../local/devIssuer';
import { DekCache } from '../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../shared/crypto/envelope';
import { LocalKeyWrapper } from '../../shared/crypto/localKeyWrapper';
import { providerBinding, type ProviderGrantTypes } from '../../shared/store/providers';
import { handleHash } from '../../shared/store/consentStates';
import { CookieJar, completeConsent, submitForm } from '../support/consentDriver';
import { isErrorShape, startHost, type ApiResponse, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Issue 16 #4 and #9: someone who can write the Table rows (but has no Key Vault access) attacks a
// running host by writing rows directly, as they would with a storage key. Each attack must get
// nothing, and be answered as tampering (409 RecordTampered), never as a 500.

const CLIENT = 'cm-tamper';
const PERSON = '00000000-0000-4000-8000-00000000b0b1';
const ATTACKER = '00000000-0000-4000-8000-0000000bad01';

let world: OAuthWorld;
let host: TestHost;
let app: string;
let providers: TableClient;
let connections: TableClient;
let policies: TableClient;

/** The attacker's own server: records whatever is sent to it and answers like a token endpoint. */
const stolen: { url: string; body: string; authorization?: string }[] = [];
let attackerServer: Server;
let attackerUrl: string;

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 60 });
  attackerServer = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      stolen.push({ url: req.url ?? '', body, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'attacker-token', token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((ok) => attackerServer.listen(0, '127.0.0.1', ok));
  attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}`;
  // Each forced refresh must reach the provider row (no coalescing) for the attacks to be seen.
  host = await startHost({
    CREDMAN_IDP_RETRIES: '0',
    CREDMAN_IDP_TIMEOUT_SECONDS: '2',
    CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: '0',
    CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: '100',
    CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: '100',
  });
  await registerClient(world, [host], CLIENT, 'client_secret_post');
  app = await host.token({ oid: DEV_APP_OBJECT_ID });
  providers = host.table('credmanProviders');
  connections = host.table('credmanConnections');
  policies = host.table('credmanAccessPolicies');
}, 60_000);

afterAll(async () => {
  await host?.stop();
  await world?.stop();
  await new Promise((ok) => attackerServer?.close(ok));
});

const newProvider = async (id: string) =>
  expect((await createProvider(host, world, id, CLIENT, { clientAuthentication: 'body', grants: ['authorizationCode', 'clientCredentials'] })).status).toBe(201);

const newDaemon = async (providerId: string, id: string) => {
  const r = await createConnection(host, providerId, id, 'ClientCredentials');
  expect(r.status).toBe(201);
  expect(r.body.properties.status).toBe('Connected');
};

/** A row as an attacker would write it back: the columns only, none of what the service adds. */
function columns(e: TableEntityResult<Record<string, unknown>>): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (k !== 'etag' && k !== 'timestamp' && !k.startsWith('odata.')) out[k] = v;
  return out as Record<string, unknown> & { partitionKey: string; rowKey: string };
}

function expectTampered(r: ApiResponse, reason?: string): void {
  expect({ status: r.status, code: r.body?.error?.code }).toEqual({ status: 409, code: 'RecordTampered' });
  expect(isErrorShape(r.body)).toBe(true);
  if (reason) expect(r.body.error.details[0].code).toBe(reason);
}

const asPerson = async (providerId: string, connectionId: string, oid: string) => (await tokenOf(host, providerId, connectionId, '', await host.token({ oid, tid: DEV_TENANT_ID }))).status;

describe('a provider row pointed at the attacker (4a)', () => {
  it('sends the attacker no client secret and no refresh token, and answers RecordTampered', async () => {
    await newProvider('steal');
    await newDaemon('steal', 'daemon');
    expect((await createConnection(host, 'steal', 'alice')).status).toBe(201);
    await consent(host, 'steal', 'alice');
    expect((await tokenOf(host, 'steal', 'alice', '', app)).status).toBe(200);

    // The attacker rewrites every endpoint in the plain configuration column.
    const row = await providers.getEntity<{ grantTypes: string }>('providers', 'steal');
    const grantTypes = JSON.parse(row.grantTypes) as Record<string, Record<string, string>>;
    for (const g of Object.values(grantTypes)) g.tokenUrl = `${attackerUrl}/token`;
    await providers.updateEntity({ partitionKey: 'providers', rowKey: 'steal', grantTypes: JSON.stringify(grantTypes) }, 'Merge');

    for (const c of ['daemon', 'alice']) expectTampered(await tokenOf(host, 'steal', c, '?forceRefresh=true', app), 'Tampered');
    expect(stolen).toEqual([]);
    expect(host.output()).toMatch(/tamper: the provider row credmanProviders\/providers\/steal failed its integrity check \(Tampered\)/);
    expect(host.output()).not.toContain(world.clientSecret);

    // The remedy: an administrator writes the provider again through the API. Its connections were
    // bound to the tampered row's binding key, which cannot be recovered: each is written again
    // (a client-credentials connection) or consented again, and answers RecordTampered until then.
    expect((await createProvider(host, world, 'steal', CLIENT, { clientAuthentication: 'body', grants: ['authorizationCode', 'clientCredentials'] })).status).toBe(200);
    expectTampered(await tokenOf(host, 'steal', 'alice', '?forceRefresh=true', app), 'Tampered');
    expect((await createConnection(host, 'steal', 'daemon', 'ClientCredentials')).body.properties.status).toBe('Connected');
    expect((await tokenOf(host, 'steal', 'daemon', '?forceRefresh=true', app)).status).toBe(200);
    expect(stolen).toEqual([]);
  });

  it('a provider whose API base URL the attacker rewrites (where the proxy sends tokens) is refused', async () => {
    expect(
      (await createProvider(host, world, 'api', CLIENT, { clientAuthentication: 'body', grants: ['clientCredentials'], apiBaseUrl: 'https://api.example.com/v1/' })).body.properties.apiBaseUrl,
    ).toBe('https://api.example.com/v1');
    await newDaemon('api', 'daemon');
    expect((await tokenOf(host, 'api', 'daemon', '?forceRefresh=true', app)).status).toBe(200);
    await providers.updateEntity({ partitionKey: 'providers', rowKey: 'api', apiBaseUrl: attackerUrl }, 'Merge');
    expectTampered(await tokenOf(host, 'api', 'daemon', '?forceRefresh=true', app), 'Tampered');
    // Dropping it (so that the template's would apply) is a change too.
    const { apiBaseUrl: _dropped, etag: _etag, timestamp: _ts, ...rest } = await providers.getEntity<Record<string, unknown>>('providers', 'api');
    await providers.updateEntity({ ...rest, partitionKey: 'providers', rowKey: 'api' }, 'Replace');
    expectTampered(await tokenOf(host, 'api', 'daemon', '?forceRefresh=true', app), 'Tampered');
    expect(stolen).toEqual([]);
  });

  it('a provider row the attacker seals themselves gets no refresh token', async () => {
    // In Azure the KEK is an RSA key: anyone with its public half (Key Vault "get") can seal an
    // envelope, though not open one. Here the test plays that attacker with the local KEK: it seals
    // a provider of its own (its endpoint, its "secret", a binding key of its own) under the real
    // provider's id. The connection's tokens are bound to the real provider's binding key.
    await newProvider('forged');
    expect((await createConnection(host, 'forged', 'alice')).status).toBe(201);
    await consent(host, 'forged', 'alice');
    const real = await providers.getEntity<{ grantTypes: string; sealVersion: number }>('providers', 'forged');
    const grantTypes = JSON.parse(real.grantTypes) as ProviderGrantTypes;
    for (const g of Object.values(grantTypes)) g.tokenUrl = `${attackerUrl}/token`;
    const kek = await LocalKeyWrapper.open(join(host.dataDir, 'local-kek.json'), () => undefined);
    const cipher = new EnvelopeCipher(kek, new DekCache({ ttlMs: 60_000, maxEntries: 10 }));
    const version = real.sealVersion + 1;
    const secrets = await cipher.seal(
      { table: 'credmanProviders', partitionKey: 'providers', rowKey: 'forged' },
      { '!bindingKey': randomBytes(32).toString('base64'), 'authorizationCode.clientSecret': 'attacker', 'clientCredentials.clientSecret': 'attacker' },
      providerBinding({ identityProvider: 'oauth2', grantTypes }, version),
    );
    await providers.updateEntity({ partitionKey: 'providers', rowKey: 'forged', grantTypes: JSON.stringify(grantTypes), secrets, sealVersion: version }, 'Merge');

    expectTampered(await tokenOf(host, 'forged', 'alice', '?forceRefresh=true', app), 'Tampered');
    expect(host.output()).toMatch(/tamper: the connection row credmanConnections\/forged\/alice failed its integrity check \(Tampered\)/);
    expect(stolen).toEqual([]);
  });
});

describe('an access-policy row written by the attacker (4b)', () => {
  it('grants nothing, with or without a MAC copied from a real policy', async () => {
    await newProvider('grant');
    await newDaemon('grant', 'shared');
    const put = await host.request('PUT', '/providers/grant/connections/shared/accessPolicies/person', {
      body: { properties: { tenantId: DEV_TENANT_ID, objectId: PERSON } },
    });
    expect(put.status).toBe(201);
    const real = await policies.getEntity<Record<string, unknown>>('grant:shared', 'person');
    const now = new Date().toISOString();
    await policies.createEntity({ partitionKey: 'grant:shared', rowKey: 'intruder', kind: 'entra', tenantId: DEV_TENANT_ID, objectId: ATTACKER, createdOn: now, changedOn: now });
    await policies.createEntity({ ...columns(real), rowKey: 'intruder2', objectId: ATTACKER });
    await policies.createEntity({ ...columns(real), rowKey: 'person2', objectId: ATTACKER });

    expect(await asPerson('grant', 'shared', ATTACKER)).toBe(403);
    expect(await asPerson('grant', 'shared', PERSON)).toBe(200);
    // The administrator sees only the real policy, and the forged one named is reported as tampered.
    const list = await host.request('GET', '/providers/grant/connections/shared/accessPolicies');
    expect(list.body.value.map((p: { name: string }) => p.name).sort()).toEqual([DEV_APP_OBJECT_ID, 'person']);
    expectTampered(await host.request('GET', '/providers/grant/connections/shared/accessPolicies/intruder'), 'Unprotected');
    expectTampered(await host.request('GET', '/providers/grant/connections/shared/accessPolicies/intruder2'), 'MacMismatch');
    // ...and can delete it.
    expect((await host.request('DELETE', '/providers/grant/connections/shared/accessPolicies/intruder')).status).toBe(200);
  });
});

describe('a row restored from an older copy (4c)', () => {
  it('an access policy replaced or deleted through this instance is not brought back', async () => {
    await newProvider('revoke');
    await newDaemon('revoke', 'shared');
    const policy = (id: string, oid: string) => host.request('PUT', `/providers/revoke/connections/shared/accessPolicies/${id}`, { body: { properties: { tenantId: DEV_TENANT_ID, objectId: oid } } });
    expect((await policy('p', ATTACKER)).status).toBe(201);
    expect((await policy('q', ATTACKER)).status).toBe(201);
    const oldP = columns(await policies.getEntity('revoke:shared', 'p'));
    const oldQ = columns(await policies.getEntity('revoke:shared', 'q'));
    // Access is taken away: p now names someone else, q is deleted.
    expect((await policy('p', PERSON)).status).toBe(200);
    expect((await host.request('DELETE', '/providers/revoke/connections/shared/accessPolicies/q')).status).toBe(200);

    await policies.upsertEntity(oldP, 'Replace');
    await policies.upsertEntity(oldQ, 'Replace');
    expect(await asPerson('revoke', 'shared', ATTACKER)).toBe(403);
    expect(host.output()).toMatch(/tamper: the access policy row credmanAccessPolicies\/revoke:shared\/p failed its integrity check \(Rollback\)/);
    expect(host.output()).toMatch(/tamper: the access policy row credmanAccessPolicies\/revoke:shared\/q failed its integrity check \(Rollback\)/);
  });

  it('an access policy deleted with its connection is not brought back into the connection created again under that id', async () => {
    await newProvider('recreate');
    await newDaemon('recreate', 'shared');
    const put = await host.request('PUT', '/providers/recreate/connections/shared/accessPolicies/p', { body: { properties: { tenantId: DEV_TENANT_ID, objectId: ATTACKER } } });
    expect(put.status).toBe(201);
    const oldP = columns(await policies.getEntity('recreate:shared', 'p'));
    // The connection goes (its policies with it) and comes back under the same id for someone else.
    expect((await host.request('DELETE', '/providers/recreate/connections/shared')).status).toBe(200);
    await newDaemon('recreate', 'shared');
    await policies.upsertEntity(oldP, 'Replace');
    expect(await asPerson('recreate', 'shared', ATTACKER)).toBe(403);
    expect(host.output()).toMatch(/tamper: the access policy row credmanAccessPolicies\/recreate:shared\/p failed its integrity check \(Rollback\)/);
  });

  it('a provider restored to an older sealed copy is refused', async () => {
    await newProvider('older');
    await newDaemon('older', 'daemon');
    const old = columns(await providers.getEntity('providers', 'older'));
    expect((await createProvider(host, world, 'older', CLIENT, { clientAuthentication: 'body', grants: ['authorizationCode', 'clientCredentials'] })).status).toBe(200);
    await providers.upsertEntity(old, 'Replace');
    expectTampered(await tokenOf(host, 'older', 'daemon', '?forceRefresh=true', app), 'Rollback');
  });
});

describe("a connection's agentTokenAccess switch turned on in storage (issue 19)", () => {
  /** get_token through the MCP server, as the app (it holds a policy on every connection it creates). */
  async function getToken(providerId: string, connectionId: string): Promise<CallToolResult> {
    const client = new Client({ name: 'tamper-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${host.apiUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${app}` } } }));
    try {
      return (await client.callTool({ name: 'get_token', arguments: { providerId, connectionId } })) as CallToolResult;
    } finally {
      await client.close();
    }
  }
  const textOf = (r: CallToolResult) => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');

  it('on a connected connection: its token reads are refused, and get_token returns no token', async () => {
    await newProvider('agent');
    expect((await createConnection(host, 'agent', 'alice')).status).toBe(201);
    expect((await consent(host, 'agent', 'alice')).status).toBe('success');
    const token = (await tokenOf(host, 'agent', 'alice', '', app)).body.accessToken as string;
    expect(token).toEqual(expect.any(String));
    expect(textOf(await getToken('agent', 'alice'))).toMatch(/^TokenExposureNotEnabled: /);

    await connections.updateEntity({ partitionKey: 'agent', rowKey: 'alice', agentTokenAccess: true }, 'Merge');
    expectTampered(await tokenOf(host, 'agent', 'alice', '?forceRefresh=true', app), 'Tampered');
    // Even with the token still in this instance's memory, get_token reads the switch from the verified row.
    const r = await getToken('agent', 'alice');
    expect([r.isError, textOf(r), r.structuredContent]).toEqual([true, expect.stringMatching(/^RecordTampered: /), undefined]);
    expect(JSON.stringify(r)).not.toContain(token);
  });

  it('on a connection without an envelope yet (before consent): the consent is refused, and get_token returns no token', async () => {
    await newProvider('agent2');
    expect((await createConnection(host, 'agent2', 'alice')).status).toBe(201);
    expect((await connections.getEntity<{ secrets?: string }>('agent2', 'alice')).secrets).toBeUndefined();
    // Were the switch taken from the column, the consent would seal the new tokens under it.
    await connections.updateEntity({ partitionKey: 'agent2', rowKey: 'alice', agentTokenAccess: true }, 'Merge');
    expect(await consent(host, 'agent2', 'alice')).toMatchObject({ status: 'error', code: 'RecordTampered' });
    const r = await getToken('agent2', 'alice');
    expect([r.isError, textOf(r), r.structuredContent]).toEqual([true, expect.stringMatching(/^RecordTampered: /), undefined]);
    expect(host.output()).toMatch(/tamper: the connection row credmanConnections\/agent2\/alice failed its integrity check \(Unprotected\)/);
  });
});

describe('a corrupted sealed field (9)', () => {
  it('answers RecordTampered, not a 500', async () => {
    await newProvider('corrupt');
    await newDaemon('corrupt', 'daemon');
    const before = host.output().length;
    const row = await connections.getEntity<{ secrets: string }>('corrupt', 'daemon');
    const envelope = JSON.parse(row.secrets) as { f: Record<string, string> };
    const [name] = Object.keys(envelope.f);
    const bytes = Buffer.from(envelope.f[name], 'base64');
    bytes[bytes.length - 1] ^= 1;
    envelope.f[name] = bytes.toString('base64');
    await connections.updateEntity({ partitionKey: 'corrupt', rowKey: 'daemon', secrets: JSON.stringify(envelope) }, 'Merge');
    expectTampered(await tokenOf(host, 'corrupt', 'daemon', '?forceRefresh=true', app), 'Tampered');
    expect(host.output().slice(before)).not.toMatch(/InternalError|Unhandled/);

    // A provider envelope with its format changed is refused too, for a connection that is intact.
    await newDaemon('corrupt', 'second');
    const p = await providers.getEntity<{ secrets: string }>('providers', 'corrupt');
    await providers.updateEntity({ partitionKey: 'providers', rowKey: 'corrupt', secrets: p.secrets.replace('"v":2', '"v":7') }, 'Merge');
    expectTampered(await tokenOf(host, 'corrupt', 'second', '?forceRefresh=true', app), 'Malformed');
  });
});

describe('a consent row written by the attacker (4, consent states)', () => {
  it('a login link forged in storage is never followed: the attacker cannot confirm their own account into a connection', async () => {
    // With the KEK's public half (see above) the attacker seals a login row of their own for
    // someone else's connection, naming a requester of their choosing, then follows it, signs in
    // with their own account and confirms: the connection's apps would then act on that account.
    await newProvider('consent');
    expect((await createConnection(host, 'consent', 'victim')).status).toBe(201);
    const kek = await LocalKeyWrapper.open(join(host.dataDir, 'local-kek.json'), () => undefined);
    const cipher = new EnvelopeCipher(kek, new DekCache({ ttlMs: 60_000, maxEntries: 10 }));
    const states = host.table('credmanConsentStates');
    const state = randomBytes(32).toString('base64url');
    const key = handleHash(state);
    const secrets = await cipher.seal(
      { table: 'credmanConsentStates', partitionKey: key, rowKey: key },
      { verifier: randomBytes(32).toString('base64url'), requestedBy: JSON.stringify({ name: 'IT Helpdesk', subject: 'it', issuer: 'https://login.example' }) },
    );
    await states.createEntity({ partitionKey: key, rowKey: key, kind: 'login', providerId: 'consent', connectionId: 'victim', expiresAt: Date.now() + 600_000, secrets });

    const before = host.output().length;
    const jar = new CookieJar();
    const page = await completeConsent(`${host.apiUrl}/consent/start?state=${state}`, { cookieJar: jar, login: 'attacker' });
    if (page.body.includes('Confirm this connection')) await submitForm(page.body, page.url, jar, { decision: 'confirm' });
    expect(page.status).toBe(400);
    expect(page.body).toContain('InvalidState');
    expect((await host.request('GET', '/providers/consent/connections/victim')).body.properties.status).toBe('Pending');
    expect(host.output().slice(before)).toMatch(/tamper: the consent state row credmanConsentStates\/\S+ failed its integrity check \(Unprotected\)/);
  });
});
