import { policyMatches } from '../../../shared/tokens/accessCheck';
import type { Caller } from '../../../shared/identity/caller';

const TID = '11111111-1111-4111-8111-111111111111';
const OID = '22222222-2222-4222-8222-222222222222';
const GROUP = '33333333-3333-4333-8333-333333333333';
const APP = '44444444-4444-4444-8444-444444444444';
const caller = (c: Partial<Caller>): Caller => ({ issuer: 'https://login.microsoftonline.com/t/v2.0', subject: 's', roles: [], groups: [], ...c });

describe('policyMatches', () => {
  const entra = { kind: 'entra' as const, tenantId: TID, objectId: OID };

  it('matches tenant and object id, case-insensitively', () => {
    expect(policyMatches(caller({ tenantId: TID.toUpperCase(), objectId: OID.toUpperCase() }), entra)).toBe(true);
    expect(policyMatches(caller({ tenantId: GROUP, objectId: OID }), entra)).toBe(false);
    expect(policyMatches(caller({ objectId: OID }), entra)).toBe(false);
  });

  it('matches a group the caller is in, within the tenant', () => {
    const policy = { ...entra, objectId: GROUP };
    expect(policyMatches(caller({ tenantId: TID, objectId: OID, groups: [GROUP] }), policy)).toBe(true);
    expect(policyMatches(caller({ tenantId: APP, objectId: OID, groups: [GROUP] }), policy)).toBe(false);
  });

  it('narrows to the listed calling apps', () => {
    const policy = { ...entra, appIds: [APP] };
    expect(policyMatches(caller({ tenantId: TID, objectId: OID, appId: APP }), policy)).toBe(true);
    expect(policyMatches(caller({ tenantId: TID, objectId: OID, appId: GROUP }), policy)).toBe(false);
    expect(policyMatches(caller({ tenantId: TID, objectId: OID }), policy)).toBe(false);
  });

  it('matches issuer and subject exactly for workloads of other issuers', () => {
    const policy = { kind: 'issuer' as const, issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:o/r:ref:refs/heads/main' };
    expect(policyMatches(caller({ issuer: policy.issuer, subject: policy.subject }), policy)).toBe(true);
    expect(policyMatches(caller({ issuer: policy.issuer, subject: 'repo:o/r:ref:refs/heads/dev' }), policy)).toBe(false);
    expect(policyMatches(caller({ issuer: 'https://other.example', subject: policy.subject }), policy)).toBe(false);
  });
});
