import { COLLABORATION } from './collaboration';
import { COMMERCE } from './commerce';
import { CRM } from './crm';
import { DEVTOOLS } from './devtools';
import { GENERIC } from './generic';
import { IDENTITY } from './identity';
import { loadCatalogue } from './loader';
import { MICROSOFT } from './microsoft';
import { SOCIAL } from './social';
import type { ProviderTemplate } from '../template';

// Every template, checked when this module loads (./index loads it on first use).

export const CATALOGUE: readonly ProviderTemplate[] = loadCatalogue([...GENERIC, ...MICROSOFT, ...IDENTITY, ...DEVTOOLS, ...COLLABORATION, ...CRM, ...COMMERCE, ...SOCIAL]);
