// What a provider, connection, policy or subscription id may be (docs/api.md, "Base path"). Free of
// imports: the console's forms check ids with it before sending them.

export const IDENTIFIER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9])?$/;

export const IDENTIFIER_RULE = '1-80 characters: letters, digits, ".", "_" or "-", starting and ending with a letter or digit';
