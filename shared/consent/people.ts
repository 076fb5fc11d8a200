import { decodeJwt } from 'jose';
import type { Caller } from '../identity/caller';
import { cleanText, type TokenSet } from '../oauth/tokenResponse';

// The two people the anti-phishing page names: the admin who asked for the login link, and the
// identity-provider account the person signed in with. Both are for display only: nothing is
// decided on them, and no token is kept for them.

export interface Requester {
  name?: string;
  userName?: string;
  objectId?: string;
  /** Always there: the token's `sub` at its issuer (all a non-Entra issuer tells). */
  subject: string;
  issuer: string;
}

export function requesterOf(caller: Caller): Requester {
  return {
    ...(caller.name ? { name: caller.name } : {}),
    ...(caller.userName ? { userName: caller.userName } : {}),
    ...(caller.objectId ? { objectId: caller.objectId } : {}),
    subject: caller.subject,
    issuer: caller.issuer,
  };
}

/** One line naming the requester: name and user name where Entra tells them, else the object id, else subject at issuer. */
export function describeRequester(r: Requester): string {
  const who = [r.name, r.userName && r.userName !== r.name ? `(${r.userName})` : undefined].filter(Boolean).join(' ');
  if (who) return r.objectId ? `${who}, object id ${r.objectId}` : who;
  if (r.objectId) return `object id ${r.objectId}`;
  return `${r.subject} at ${r.issuer}`;
}

export interface AccountField {
  label: string;
  value: string;
}

// What the id_token says about the account, in the order worth showing.
const ID_TOKEN_CLAIMS: Array<[string, string]> = [
  ['name', 'Name'],
  ['email', 'Email'],
  ['preferred_username', 'User name'],
  ['upn', 'User name'],
  ['sub', 'Subject'],
];
// Account fields some providers put in the token response itself (Slack `authed_user.id`,
// `team.name`; Dropbox `account_id`; Salesforce `id`; Notion `owner.user.name` …).
const RESPONSE_FIELDS = new Set(['email', 'login', 'username', 'user_name', 'user_id', 'userId', 'account_id', 'accountId', 'name', 'id', 'team_name', 'workspace_name']);
const MAX_FIELDS = 6;

/** Which account the token response says was used, as label/value pairs (empty when it does not say). */
export function accountOf(set: TokenSet): AccountField[] {
  const fields: AccountField[] = [];
  const add = (label: string, v: unknown) => {
    if (fields.length >= MAX_FIELDS || (typeof v !== 'string' && typeof v !== 'number')) return;
    const value = cleanText(String(v), 120);
    if (value && !fields.some((f) => f.label === label || f.value === value)) fields.push({ label, value });
  };
  if (set.idToken) {
    let claims: Record<string, unknown> = {};
    try {
      claims = decodeJwt(set.idToken); // display only: the token came straight from the token endpoint
    } catch {
      // Not a JWT: nothing to show from it.
    }
    for (const [claim, label] of ID_TOKEN_CLAIMS) add(label, claims[claim]);
  }
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(obj)) {
      if (RESPONSE_FIELDS.has(k)) add(`${prefix}${k}`, v);
      else if (depth < 2 && typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, `${prefix}${k}.`, depth + 1);
    }
  };
  walk(set.claims, '', 0);
  return fields;
}
