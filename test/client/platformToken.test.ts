import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DevIssuer } from '../../local/devIssuer';
import { CredmanAuthError, CredmanClient, fromFile, fromGitHubActions, type CredmanError } from '../../client/src';
import { countingFetch, startClientWorld, type ClientWorld } from './clientWorld';

// Platform-token mode: a workload of another trusted OpenID issuer (standing in for a Kubernetes
// cluster and for GitHub Actions) whose access policy names issuer + subject. The SDK reads the
// platform token afresh for every request.

const POD = 'system:serviceaccount:payments:worker';
const OTHER_POD = 'system:serviceaccount:payments:other';
const JOB = 'repo:octo-org/app:ref:refs/heads/main';
const REQUEST_TOKEN = 'actions-request-token-SECRET';

let w: ClientWorld;
let issuer: DevIssuer;
let issuerServer: Server;
let actions: Server;
let actionsUrl: string;
let actionsCalls: Array<{ audience: string | null; authorization: string | undefined; apiVersion: string | null }> = [];
let dir: string;

const workloadToken = (sub: string, aud = 'api://credman') => {
  const now = Math.floor(Date.now() / 1000);
  return issuer.signClaims({ iss: issuer.issuer, sub, aud, iat: now, exp: now + 600, jti: `${Math.random()}` });
};

const listen = async (server: Server) => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  issuerServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks())));
  const issuerUrl = `${await listen(issuerServer)}/cluster`;
  issuer = await DevIssuer.loadOrCreate(mkdtempSync(join(tmpdir(), 'credman-wl-')), issuerUrl);
  // GitHub's token endpoint for jobs: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=… with the job's request token.
  actions = createServer(
    (req, res) =>
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        actionsCalls.push({ audience: url.searchParams.get('audience'), authorization: req.headers.authorization, apiVersion: url.searchParams.get('api-version') });
        if (req.headers.authorization !== `bearer ${REQUEST_TOKEN}`) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
        const value = await workloadToken(JOB, url.searchParams.get('audience') ?? 'none');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
      })(),
  );
  actionsUrl = `${await listen(actions)}/_apis/token/actionsoidc?api-version=2.0`;

  w = await startClientWorld({
    CREDMAN_LOCAL_EXTRA_ISSUERS: JSON.stringify([{ issuer: issuerUrl, jwksUri: `${issuerUrl}/jwks.json`, audiences: ['api://credman'], kind: 'oidc' }]),
  });
  await w.policy('pod', { issuer: issuer.issuer, subject: POD });
  await w.policy('job', { issuer: issuer.issuer, subject: JOB });
  dir = mkdtempSync(join(tmpdir(), 'credman-sdk-'));
}, 60_000);

afterAll(async () => {
  await w?.stop();
  await new Promise((ok) => issuerServer?.close(ok));
  await new Promise((ok) => actions?.close(ok));
  if (dir) rmSync(dir, { recursive: true, force: true });
  delete process.env.CREDMAN_TOKEN_FILE;
});

const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as CredmanError,
  );

describe('fromFile (a projected service-account token)', () => {
  it('reads the file for every request, so a rotated token is used at once', async () => {
    const file = join(dir, 'token');
    const counted = countingFetch();
    const client = new CredmanClient({ baseUrl: w.credman.url, platformToken: fromFile(file), fetch: counted.fetch });

    const first = await workloadToken(POD);
    writeFileSync(file, `${first}\n`);
    const token = await client.getToken(w.providerId, w.connectionId);
    expect(token.accessToken).toEqual(expect.any(String));

    // The kubelet rotated the file: the next request carries the new content.
    const second = await workloadToken(POD);
    writeFileSync(file, second);
    await client.getToken(w.providerId, w.connectionId, { forceRefresh: true });
    expect(counted.seen.map((s) => s.authorization)).toEqual([`Bearer ${first}`, `Bearer ${second}`]);

    // A token of a subject without a policy is refused: proof that the file, not a copy, is used.
    writeFileSync(file, await workloadToken(OTHER_POD));
    const e = await caught(client.getToken(w.providerId, w.connectionId, { forceRefresh: true }));
    expect(e).toBeInstanceOf(CredmanAuthError);
    expect(e.code).toBe('Forbidden');
  });

  it('takes its path from CREDMAN_TOKEN_FILE when given none, and says clearly when the file is missing', async () => {
    const file = join(dir, 'from-env');
    writeFileSync(file, await workloadToken(POD));
    process.env.CREDMAN_TOKEN_FILE = file;
    const client = new CredmanClient({ baseUrl: w.credman.url, platformToken: fromFile() });
    expect((await client.getToken(w.providerId, w.connectionId)).accessToken).toEqual(expect.any(String));

    const counted = countingFetch();
    const missing = new CredmanClient({ baseUrl: w.credman.url, platformToken: fromFile(join(dir, 'nope')), fetch: counted.fetch });
    const e = await caught(missing.getToken(w.providerId, w.connectionId));
    expect(e).toBeInstanceOf(CredmanAuthError);
    expect(e.code).toBe('CallerTokenUnavailable');
    expect(e.message).toContain('ENOENT');
    expect(counted.calls).toBe(0);
  });
});

describe('fromGitHubActions', () => {
  beforeEach(() => (actionsCalls = []));

  it('asks the Actions token endpoint for every request, with the audience and the request token', async () => {
    const counted = countingFetch();
    const client = new CredmanClient({
      baseUrl: w.credman.url,
      platformToken: fromGitHubActions({ requestUrl: actionsUrl, requestToken: REQUEST_TOKEN }),
      fetch: counted.fetch,
    });
    const a = await client.getToken(w.providerId, w.connectionId, { forceRefresh: true });
    const b = await client.getToken(w.providerId, w.connectionId, { forceRefresh: true });
    expect(b.accessToken).not.toBe(a.accessToken);
    expect(actionsCalls).toEqual([
      { audience: 'api://credman', authorization: `bearer ${REQUEST_TOKEN}`, apiVersion: '2.0' },
      { audience: 'api://credman', authorization: `bearer ${REQUEST_TOKEN}`, apiVersion: '2.0' },
    ]);
    expect(new Set(counted.seen.map((s) => s.authorization)).size).toBe(2);
  });

  it('reads the job environment, and fails clearly without echoing the request token', async () => {
    process.env.ACTIONS_ID_TOKEN_REQUEST_URL = actionsUrl;
    process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'wrong';
    try {
      const client = new CredmanClient({ baseUrl: w.credman.url, platformToken: fromGitHubActions() });
      const e = await caught(client.getToken(w.providerId, w.connectionId));
      expect(e).toMatchObject({ code: 'CallerTokenUnavailable', status: 0 });
      expect(e.message).toContain('HTTP 401');
      expect(e.message).not.toContain('wrong');
      process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = REQUEST_TOKEN;
      expect((await client.getToken(w.providerId, w.connectionId)).accessToken).toEqual(expect.any(String));

      delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
      const outside = await caught(client.getToken(w.providerId, w.connectionId, { forceRefresh: true }));
      expect(outside.code).toBe('CallerTokenUnavailable');
      expect(outside.message).toContain('id-token: write');
    } finally {
      delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
      delete process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    }
  });

  it('a token for another audience is refused by credman', async () => {
    const client = new CredmanClient({
      baseUrl: w.credman.url,
      platformToken: fromGitHubActions({ requestUrl: actionsUrl, requestToken: REQUEST_TOKEN, audience: 'api://elsewhere' }),
    });
    const e = await caught(client.getToken(w.providerId, w.connectionId));
    expect(e).toMatchObject({ code: 'Unauthenticated', status: 401 });
    expect(actionsCalls[0].audience).toBe('api://elsewhere');
  });
});
