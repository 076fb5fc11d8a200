import { UnsecuredJWT } from 'jose';
import { accountOf, describeRequester, requesterOf } from '../../../shared/consent/people';
import { bindingMatches, handleHash } from '../../../shared/store/consentStates';

// What the confirmation page says about the two people involved, from a token response and an
// admin caller; and the binding check that guards sign-in and confirmation.

const set = (claims: Record<string, unknown>, idToken?: string) => ({ accessToken: 'at', tokenType: 'Bearer', claims, ...(idToken ? { idToken } : {}) });

it('names the account from id_token claims first, then from account fields of the response', () => {
  const idToken = new UnsecuredJWT({ sub: 'u-1', name: 'Ada', email: 'ada@example.test', preferred_username: 'ada' }).encode();
  expect(accountOf(set({}, idToken))).toEqual([
    { label: 'Name', value: 'Ada' },
    { label: 'Email', value: 'ada@example.test' },
    { label: 'User name', value: 'ada' },
    { label: 'Subject', value: 'u-1' },
  ]);
  // Slack answers a user-token exchange with who and which workspace, and no id_token.
  expect(accountOf(set({ ok: true, team: { id: 'T1', name: 'Acme' }, authed_user: { id: 'U42', scope: 'chat:write' } }))).toEqual([
    { label: 'team.id', value: 'T1' },
    { label: 'team.name', value: 'Acme' },
    { label: 'authed_user.id', value: 'U42' },
  ]);
  // Nothing to say: the page says so; a broken id_token is no error.
  expect(accountOf(set({ scope: 'repo' }, 'not-a-jwt'))).toEqual([]);
});

it('keeps what it shows short and free of control characters and token-like runs', () => {
  const idToken = new UnsecuredJWT({ sub: 'x'.repeat(300), name: 'Eve\u0000\nInjected' }).encode();
  const shown = accountOf(set({}, idToken));
  expect(shown[0]).toEqual({ label: 'Name', value: 'Eve Injected' });
  expect(shown[1].value.length).toBeLessThanOrEqual(120);
});

it('describes the requester by name and user name when Entra tells them, else by object id, else subject at issuer', () => {
  const base = { issuer: 'https://login.microsoftonline.com/t/v2.0', subject: 's', roles: [], groups: [] };
  expect(describeRequester(requesterOf({ ...base, objectId: 'o-1', name: 'Mallory', userName: 'mallory@contoso.example' }))).toBe('Mallory (mallory@contoso.example), object id o-1');
  expect(describeRequester(requesterOf({ ...base, objectId: 'o-1' }))).toBe('object id o-1');
  expect(describeRequester(requesterOf({ ...base, issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:o/r:ref:refs/heads/main' }))).toBe(
    'repo:o/r:ref:refs/heads/main at https://token.actions.githubusercontent.com',
  );
});

it('matches a binding cookie only to its own hash', () => {
  expect(bindingMatches('cookie', handleHash('cookie'))).toBe(true);
  expect(bindingMatches('other', handleHash('cookie'))).toBe(false);
  expect(bindingMatches(undefined, handleHash('cookie'))).toBe(false);
  expect(bindingMatches('cookie', undefined)).toBe(false);
  expect(bindingMatches('cookie', 'short')).toBe(false);
});
