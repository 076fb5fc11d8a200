import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponse } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import { DEV_TENANT_ID } from '../../local/devIssuer';
import { DurableDriver } from '../../local/durable/driver';
import { CredmanClient } from '../../client/src';
import { listRepos } from '../../samples/durable-github/src/github';
import { tokenOf } from '../support/oauthWorld';
import { clientOf, eventually, loadApp } from '../local/durable/support';
import { devCredential, startClientWorld, type ClientWorld } from './clientWorld';

// samples/durable-github against credman's local host and a local stand-in for the GitHub API
// that accepts only the token credman currently holds for the connection. The sample's
// orchestration runs on the local durable driver, as the app's own orchestrations do in tests.

const SAMPLE_APP = '00000000-0000-4000-8000-0000000005a1'; // the sample's managed identity
const REPOS = [
  { full_name: 'alice/one', private: false, html_url: 'https://github.example/alice/one' },
  { full_name: 'alice/two', private: true, html_url: 'https://github.example/alice/two' },
];

const app = loadApp();
// The sample imports the SDK as a package; here it is the repository's source.
jest.doMock('@credman/client', () => jest.requireActual('../../client/src'), { virtual: true });
interface SampleFunctions {
  startGithubRepos(request: HttpRequest, client: DurableClient, context: InvocationContext): Promise<HttpResponse>;
}

let w: ClientWorld;
let github: Server;
let githubUrl: string;
let seen: string[] = [];
let revokedAtGitHub = false;
let sampleToken: string;
let dir: string;

/** What credman serves for the connection now (asked the way the sample's identity asks). */
const currentToken = async () => (await tokenOf(w.host, w.providerId, w.connectionId, '', sampleToken)).body.accessToken as string;

beforeAll(async () => {
  w = await startClientWorld();
  await w.policy('sample', { tenantId: DEV_TENANT_ID, objectId: SAMPLE_APP });
  sampleToken = await w.host.token({ oid: SAMPLE_APP });
  github = createServer(
    (req, res) =>
      void (async () => {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        seen.push(bearer);
        const ok = req.method === 'GET' && req.url?.startsWith('/user/repos?') && !revokedAtGitHub && bearer === (await currentToken());
        if (!ok) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(REPOS));
      })(),
  );
  await new Promise<void>((ok) => github.listen(0, '127.0.0.1', ok));
  githubUrl = `http://127.0.0.1:${(github.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await w?.stop();
  await new Promise((ok) => github?.close(ok));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  revokedAtGitHub = false;
});

it("the activity's core calls GitHub with credman's token for the connection", async () => {
  const client = new CredmanClient({ baseUrl: w.credman.url, credential: devCredential(w.host, SAMPLE_APP) });
  const repos = await listRepos(client, { providerId: w.providerId, connectionId: w.connectionId, apiBaseUrl: githubUrl });
  expect(repos).toEqual([
    { fullName: 'alice/one', private: false, htmlUrl: 'https://github.example/alice/one' },
    { fullName: 'alice/two', private: true, htmlUrl: 'https://github.example/alice/two' },
  ]);
  expect(seen).toEqual([await currentToken()]);
});

it('on a 401 from GitHub, the core asks credman for a forced-fresh token and tries once more', async () => {
  const client = new CredmanClient({ baseUrl: w.credman.url, credential: devCredential(w.host, SAMPLE_APP) });
  const stale = (await client.getToken(w.providerId, w.connectionId)).accessToken;
  // Someone forced a refresh elsewhere: the client's cached token is no longer the one GitHub takes.
  expect((await tokenOf(w.host, w.providerId, w.connectionId, '?forceRefresh=true', sampleToken)).status).toBe(200);
  await listRepos(client, { providerId: w.providerId, connectionId: w.connectionId, apiBaseUrl: githubUrl });
  expect(seen).toEqual([stale, await currentToken()]);
  expect(seen[1]).not.toBe(stale);
});

describe('the orchestration, started by its HTTP starter, on the local durable driver', () => {
  let driver: DurableDriver;
  let client: DurableClient;
  let sample: SampleFunctions;

  beforeAll(async () => {
    // The sample's local mode: a dev token for its identity in CREDMAN_TOKEN_FILE (see its README).
    dir = mkdtempSync(join(tmpdir(), 'credman-sample-'));
    writeFileSync(join(dir, 'token'), sampleToken);
    Object.assign(process.env, {
      CREDMAN_BASE_URL: w.credman.url,
      CREDMAN_PROVIDER_ID: w.providerId,
      CREDMAN_CONNECTION_ID: w.connectionId,
      CREDMAN_TOKEN_FILE: join(dir, 'token'),
      GITHUB_API_URL: githubUrl,
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- after the mocks are in place
    sample = require('../../samples/durable-github/src/functions/githubRepos') as SampleFunctions;
    driver = new DurableDriver({ registrations: app.core.registrations, storage: { connectionString: w.host.azurite.connectionString, tablePrefix: 'sample' }, rpcPort: 0, log: () => undefined });
    await driver.start();
    client = clientOf(app, driver);
  });

  afterAll(async () => {
    await driver?.stop();
  });

  const run = async () => {
    const request = new HttpRequest({ method: 'POST', url: 'http://localhost:7072/api/orchestrators/githubRepos' });
    const started = await sample.startGithubRepos(request, client, new InvocationContext({ functionName: 'startGithubRepos', logHandler: () => undefined }));
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string; statusQueryGetUri: string };
    return eventually(
      () => client.getStatus(id),
      (s) => s.runtimeStatus === 'Completed' || s.runtimeStatus === 'Failed',
      15_000,
    );
  };

  it('lists the repositories through credman', async () => {
    const status = await run();
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toEqual({ status: 'ok', count: 2, repos: ['alice/one', 'alice/two'] });
    expect(seen).toEqual([await currentToken()]);
  });

  it('ends with needsConsent, not a failure, when the grant was revoked', async () => {
    await w.world.idp.revokeAll();
    revokedAtGitHub = true;
    const status = await run();
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toMatchObject({ status: 'needsConsent', code: 'ReauthorizationRequired' });
    expect(status.customStatus).toEqual({ needsConsent: 'ReauthorizationRequired' });
  });
});
