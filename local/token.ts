import { parseArgs } from 'node:util';
import { DevIssuer } from './devIssuer';
import { devIssuerUrl, loadLocalHostSettings, localEnvironment } from './hostSettings';

// `npm run -s token -- --admin` prints a dev-issuer token and nothing else on stdout, so that
// TOKEN=$(npm run -s token -- --admin) works. Messages go to stderr.

const USAGE = `Usage: npm run -s token -- [--admin] [--oid GUID] [--tid GUID] [--group GUID ...]
                          [--role NAME ...] [--app-id ID] [--aud AUDIENCE] [--ttl SECONDS]
Prints a bearer token from the local dev issuer (key in <CREDMAN_LOCAL_DATA_DIR>/dev-issuer.json).`;

class UsageError extends Error {}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        admin: { type: 'boolean' },
        oid: { type: 'string' },
        tid: { type: 'string' },
        group: { type: 'string', multiple: true },
        role: { type: 'string', multiple: true },
        'app-id': { type: 'string' },
        aud: { type: 'string' },
        ttl: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  if (args.ttl !== undefined && !/^\d+$/.test(args.ttl)) throw new UsageError('--ttl must be a whole number of seconds');
  const ttlSeconds = args.ttl === undefined ? undefined : Number(args.ttl);
  if (args.aud === '') throw new UsageError('--aud must not be empty');
  if (args['app-id'] === '') throw new UsageError('--app-id must not be empty');

  const { port, dataDir } = loadLocalHostSettings(localEnvironment());
  const issuer = await DevIssuer.loadOrCreate(dataDir, devIssuerUrl(port));
  let token: string;
  try {
    token = await issuer.mint({
      admin: args.admin,
      oid: args.oid,
      tid: args.tid,
      groups: args.group,
      roles: args.role,
      appId: args['app-id'],
      audience: args.aud,
      ttlSeconds,
    });
  } catch (err) {
    // mint rejects bad GUIDs and lifetimes with a TypeError: a usage problem, not a crash.
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(`${token}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    process.stderr.write(usage ? `token: ${err.message}\n${USAGE}\n` : `token: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
