import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, type EmbeddedAzurite } from '../../../local/azurite';
import { DekCache } from '../../../shared/crypto/dekCache';
import { EnvelopeCipher } from '../../../shared/crypto/envelope';
import { canonicalJson, digestOf, RecordIntegrity } from '../../../shared/crypto/integrity';
import { LocalKeyWrapper } from '../../../shared/crypto/localKeyWrapper';
import { ConnectionStateError, TamperedRecordError } from '../../../shared/errors';
import { agentTokenAccessOf, ConnectionSealer } from '../../../shared/store/connectionSeal';
import { createTables } from '../../../shared/store/tables';

// The agentTokenAccess switch in a connection envelope's binding (docs/mcp.md, "get_token and
// agentTokenAccess"), on the real cipher and Azurite: rows sealed before the switch existed still
// open; a row's column cannot turn it on (nor off) without the envelope sealed for it.

const TABLE = 'sealConnections';
const KEY = 'the-provider-binding-key';
const PARAMETERS = JSON.stringify({ scopes: 'read' });

let azurite: EmbeddedAzurite;
let dir: string;
let cipher: EnvelopeCipher;
let sealer: ConnectionSealer;
/** Under a provider stored before binding began: no binding key. */
let unbound: ConnectionSealer;

beforeAll(async () => {
  azurite = await startAzurite();
  dir = await mkdtemp(join(tmpdir(), 'credman-seal-'));
  const tables = createTables({ connectionString: azurite.connectionString, tablePrefix: 'seal' }, () => {
    throw new Error('no credential: a connection string is given');
  });
  cipher = new EnvelopeCipher(await LocalKeyWrapper.open(join(dir, 'kek.json'), () => undefined), new DekCache({ ttlMs: 60_000, maxEntries: 10 }));
  const integrity = new RecordIntegrity(cipher, tables.providers);
  sealer = new ConnectionSealer(TABLE, cipher, integrity, async () => KEY);
  unbound = new ConnectionSealer(TABLE, cipher, integrity, async () => null);
});

afterAll(async () => {
  await azurite?.stop();
  await rm(dir, { recursive: true, force: true });
});

const loc = (rowKey: string) => ({ table: TABLE, partitionKey: 'p', rowKey });

async function refused(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TamperedRecordError);
  return (err as TamperedRecordError).reason;
}

it('opens a row sealed before the switch existed, its column absent or false (the binding is unchanged)', async () => {
  const version = Date.now();
  // The binding exactly as written before the switch: no member for it.
  const before = canonicalJson({ provider: digestOf(KEY), grantType: 'AuthorizationCode', parameters: digestOf(JSON.parse(PARAMETERS)), version });
  const secrets = await cipher.seal(loc('old'), { 'token.access': 'at' }, before);
  const row = { grantType: 'AuthorizationCode', parameters: PARAMETERS, secrets, sealVersion: version };
  expect(await sealer.open('p', 'old', row)).toEqual({ 'token.access': 'at' });
  expect(await sealer.open('p', 'old', { ...row, agentTokenAccess: false })).toEqual({ 'token.access': 'at' });
  // Turned on in storage: refused.
  expect(await refused(sealer.open('p', 'old', { ...row, agentTokenAccess: true }))).toBe('Tampered');
});

it('opens a row sealed with the switch on only while its column says so; the marker stays inside the sealer', async () => {
  const columns = { grantType: 'AuthorizationCode', parameters: PARAMETERS, agentTokenAccess: true };
  const sealed = await sealer.seal('p', 'on', columns, { 'token.access': 'at' });
  const row = { ...columns, ...sealed };
  expect(await sealer.open('p', 'on', row)).toEqual({ 'token.access': 'at' });
  // Turned off in storage is a change too (the resource would say off while the sealed switch says on).
  const { agentTokenAccess: _on, ...off } = row;
  expect(await refused(sealer.open('p', 'on', off))).toBe('Tampered');
  expect(await refused(sealer.open('p', 'on', { ...off, agentTokenAccess: false }))).toBe('Tampered');
});

it('seals an envelope for the switch even without secrets, and refuses the switch on beside no envelope or an unbound one', async () => {
  const columns = { grantType: 'AuthorizationCode', parameters: PARAMETERS, agentTokenAccess: true };
  const sealed = await sealer.seal('p', 'empty', columns, {});
  expect(typeof sealed.secrets).toBe('string');
  expect(await sealer.open('p', 'empty', { ...columns, ...sealed })).toEqual({});
  // Off and nothing to seal: no envelope, as before.
  expect(await sealer.seal('p', 'empty', { ...columns, agentTokenAccess: false }, {})).toEqual({});

  // A pending connection (no envelope yet) with the column turned on: a consent would seal its tokens under it.
  expect(await refused(sealer.open('p', 'bare', columns))).toBe('Unprotected');
  // An unbound envelope (anyone with the KEK's public half can make one) beside it.
  const forged = await cipher.seal(loc('bare'), { 'token.access': 'attacker' });
  expect(await refused(sealer.open('p', 'bare', { ...columns, secrets: forged }))).toBe('Unprotected');
});

it('takes only `true` as on', async () => {
  for (const value of ['true', 1, 'on', null, undefined, false]) expect(agentTokenAccessOf({ agentTokenAccess: value })).toBe(false);
  expect(agentTokenAccessOf({ agentTokenAccess: true })).toBe(true);
  const columns = { grantType: 'AuthorizationCode', parameters: PARAMETERS };
  const sealed = await sealer.seal('p', 'string', columns, { 'token.access': 'at' });
  // A column of another type is off, and opens as sealed (off).
  expect(await sealer.open('p', 'string', { ...columns, ...sealed, agentTokenAccess: 'true' as unknown as boolean })).toEqual({ 'token.access': 'at' });
});

it('refuses to turn the switch on under a provider without a binding key (nothing to protect it with)', async () => {
  const columns = { grantType: 'AuthorizationCode', parameters: PARAMETERS };
  await expect(unbound.seal('p', 'legacy', { ...columns, agentTokenAccess: true }, { 'token.access': 'at' })).rejects.toThrow(ConnectionStateError);
  await expect(unbound.seal('p', 'legacy', { ...columns, agentTokenAccess: true }, {})).rejects.toMatchObject({ code: 'ProviderMisconfigured', status: 409 });
  // Off, as before: an unbound envelope.
  const sealed = await unbound.seal('p', 'legacy', columns, { 'token.access': 'at' });
  expect(sealed.sealVersion).toBeUndefined();
  expect(await unbound.open('p', 'legacy', { ...columns, ...sealed })).toEqual({ 'token.access': 'at' });
});
