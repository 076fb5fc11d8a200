import * as accessPolicies from './accessPolicies';
import * as connections from './connections';
import * as consoleApp from './console';
import * as consent from './consent';
import * as identityProviders from './identityProviders';
import { register } from './lib/api';
import * as me from './me';
import * as mcp from './mcp';
import * as operations from './operations';
import * as providers from './providers';
import * as proxy from './proxy';
import * as tokens from './tokens';
import * as webhooks from './webhooks';

// Every HTTP function: the route table (shared/api/routes.ts) with each entry's handler, which
// lives in the file of its resource.
register({ ...providers, ...connections, ...accessPolicies, ...tokens, ...proxy, ...webhooks, ...identityProviders, ...consent, ...operations, ...me, ...mcp, ...consoleApp });
