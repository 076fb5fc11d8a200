import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_APP_OBJECT_ID } from '../../local/devIssuer';
import { startAzurite, type EmbeddedAzurite } from '../../local/azurite';
import { startHost, type TestHost } from '../support/host';
import { consent, createConnection, createProvider, registerClient, sleep, startOAuthWorld, tokenOf, type OAuthWorld } from '../support/oauthWorld';

// Refresh exactly once across instances: two local host processes on one storage account, 500
// concurrent requests for a connection whose token is due. oidc-provider rotates refresh tokens
// and revokes the whole grant when an old one is replayed, so a second refresh would show.

let world: OAuthWorld;
let azurite: EmbeddedAzurite;
let hosts: TestHost[];
const P = 'shared-idp';

beforeAll(async () => {
  world = await startOAuthWorld({ accessTokenTtl: 4 });
  azurite = await startAzurite();
  // One key file: both instances decrypt the same rows, as instances of one app share a Key Vault key.
  const kek = join(mkdtempSync(join(tmpdir(), 'credman-kek-')), 'kek.json');
  hosts = await Promise.all([0, 1].map(() => startHost({ CREDMAN_LOCAL_KEK_FILE: kek, CREDMAN_IDP_RETRIES: '1', CREDMAN_LOCAL_DURABLE: 'false' }, azurite)));
  await registerClient(world, hosts, 'cm-sf');
  expect((await createProvider(hosts[0], world, P, 'cm-sf')).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.all((hosts ?? []).map((h) => h.stop()));
  await azurite?.stop();
  await world?.stop();
});

it('500 concurrent requests over two instances cause exactly one refresh at the identity provider', async () => {
  const [a, b] = hosts;
  await createConnection(a, P, 'busy');
  expect((await consent(a, P, 'busy')).status).toBe('success');
  const tokens = await Promise.all(hosts.map((h) => h.token({ oid: DEV_APP_OBJECT_ID })));
  const before = await tokenOf(b, P, 'busy', '', tokens[1]);
  expect(before.status).toBe(200);

  await sleep(2300); // past half of the 4 s lifetime: the next request must refresh
  await world.idp.resetStats();
  const responses = await Promise.all(Array.from({ length: 500 }, (_, i) => tokenOf(hosts[i % 2], P, 'busy', '', tokens[i % 2])));
  const stats = await world.idp.stats();
  expect(stats.token.refresh_token).toBe(1);
  expect(responses.map((r) => r.status)).toEqual(Array(500).fill(200));
  const issued = new Set(responses.map((r) => r.body.accessToken));
  expect(issued.size).toBe(1);
  expect(issued.has(before.body.accessToken)).toBe(false);
  const c = await a.request('GET', `/providers/${P}/connections/busy`);
  expect(c.body.properties.status).toBe('Connected');
  // The refreshed grant still works: the refresh token that was stored is the one the provider rotated to.
  await sleep(2300);
  expect((await tokenOf(a, P, 'busy', '', tokens[0])).status).toBe(200);
  expect((await world.idp.stats()).tokenSuccess.refresh_token).toBe(2);
}, 60_000);
