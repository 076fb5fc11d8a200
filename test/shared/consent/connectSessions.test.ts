import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { ConnectSessions } from '../../../shared/consent/connectSessions';
import { CONSENT_TTL_MS, ConsentService } from '../../../shared/consent/consentService';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { RecordIntegrity } from '../../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import { ForbiddenError, InvalidStateError } from '../../../shared/errors';
import { AccessPolicyStore } from '../../../shared/store/accessPolicies';
import { ConnectionSealer } from '../../../shared/store/connectionSeal';
import { ConnectionStore } from '../../../shared/store/connections';
import { ConnectionTokenStore } from '../../../shared/store/connectionTokens';
import { ConnectionService } from '../../../shared/management/connections';
import { AccessCheck } from '../../../shared/tokens/accessCheck';
import { TokenService } from '../../../shared/tokens/tokenService';
import { ConsentStateStore } from '../../../shared/store/consentStates';
import { ProviderStore } from '../../../shared/store/providers';
import { createTables } from '../../../shared/store/tables';

// The expiry of a connect session, on Azurite with the consent service's clock moved: the link is
// refused from its 10th minute on; and the race of its create-only write with an administrator's
// (test/api/connectSessions.test.ts runs the rest over HTTP).

let azurite: EmbeddedAzurite;
let dir: string;
let consent: ConsentService;
let connections: ConnectionStore;
let racing: ConnectSessions;
let raceNextRead = false;
let clock = Date.UTC(2026, 11, 3, 12);

const REQUEST = {
  providerId: 'p',
  connectionId: 'alice',
  accessPolicies: [{ id: 'worker', properties: { tenantId: '11111111-1111-4111-8111-111111111111', objectId: '22222222-2222-4222-8222-222222222222' } }],
  endUser: { id: 'alice' },
  postLoginRedirectUrl: 'https://app.example/done',
};
const APP = { subject: 'app', issuer: 'https://issuer.example' };

beforeAll(async () => {
  azurite = await startAzurite();
  dir = await mkdtemp(join(tmpdir(), 'credman-connect-'));
  const tables = createTables({ connectionString: azurite.connectionString, tablePrefix: 'connectSessions' }, () => {
    throw new Error('no credential: a connection string is given');
  });
  const cipher = new EnvelopeCipher(await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined), new DekCache({ ttlMs: 60_000, maxEntries: 10 }));
  const integrity = new RecordIntegrity(cipher, tables.providers);
  const providers = new ProviderStore(tables.providers, cipher, integrity);
  await providers.put(
    'p',
    { identityProvider: 'oauth2', grantTypes: { authorizationCode: { clientId: 'c', authorizationUrl: 'https://idp.example/auth', tokenUrl: 'https://idp.example/token', scopes: 'openid' } } },
    { 'authorizationCode.clientSecret': 's' },
  );
  const sealer = new ConnectionSealer(tables.connections.tableName, cipher, integrity, async () => null);
  connections = new ConnectionStore(tables.connections, sealer);
  const policies = new AccessPolicyStore(tables.accessPolicies, integrity);
  const appIdentity = { tenantId: REQUEST.accessPolicies[0].properties.tenantId, objectId: '33333333-3333-4333-8333-333333333333' };
  // The refresher and the identity-provider client are reached only for a client-credentials connection, which these tests never create.
  const tokens = new TokenService(new AccessCheck(policies, new ConnectionTokenStore(tables.connections, sealer), 0), null as never, { cacheEnabled: true, appIdentity });
  const connectionService = new ConnectionService(providers, connections, policies, appIdentity, tokens, null as never);
  const sessions = new ConnectSessions(providers, connections, policies, [], connectionService, () => undefined);
  // Between its read and its write, an administrator creates a connection of the same id: the real
  // store, with that write landing right after the read that found nothing.
  const raced = Object.assign(Object.create(connections) as ConnectionStore, {
    get: async (providerId: string, id: string) => {
      const read = await connections.get(providerId, id);
      const race = raceNextRead;
      raceNextRead = false;
      if (!read && race) await connections.put(providerId, id, { displayName: 'admin', grantType: 'AuthorizationCode', parameters: {} }, {});
      return read;
    },
  });
  racing = new ConnectSessions(providers, raced, policies, [], connectionService, () => undefined);
  // The refresher and the identity-provider client are reached only after a sign-in, which these tests never get to.
  consent = new ConsentService(providers, connections, new ConsentStateStore(tables.consentStates, cipher, integrity), null as never, null as never, {
    publicBaseUrl: 'https://credman.example',
    allowedRedirectOrigins: ['https://app.example'],
    now: () => clock,
    connect: sessions,
  });
});

afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

const stateOf = (link: string) => new URL(link).searchParams.get('state') as string;

it('expires after CONSENT_TTL_MS (10 minutes): refused from then on, followed just before', async () => {
  expect(CONSENT_TTL_MS).toBe(10 * 60 * 1000);
  const issuedAt = clock;
  const late = await consent.createConnectSession(REQUEST, APP);
  const onTime = await consent.createConnectSession(REQUEST, APP);
  expect(Date.parse(late.expiresOn)).toBe(issuedAt + CONSENT_TTL_MS);

  clock = issuedAt + CONSENT_TTL_MS - 1;
  const started = await consent.start(stateOf(onTime.connectLink));
  expect(started.kind).toBe('redirect');

  clock = issuedAt + CONSENT_TTL_MS;
  await expect(consent.start(stateOf(late.connectLink))).rejects.toBeInstanceOf(InvalidStateError);
  // Neither created anything: the connection waits for a confirmed consent.
  expect(await connections.get('p', 'alice')).toBeUndefined();
});

it('never takes over a connection created between its check and its write (create-only)', async () => {
  const payload = await racing.check({ ...REQUEST, connectionId: 'raced' }, APP);
  raceNextRead = true;
  await expect(racing.materialize('p', 'raced', payload)).rejects.toBeInstanceOf(ForbiddenError);
  // The administrator's connection stays theirs: no end user, no app, their display name.
  const c = await connections.get('p', 'raced');
  expect(c?.displayName).toBe('admin');
  expect(c?.endUser).toBeUndefined();
  expect(c?.endUserApp).toBeUndefined();
});
