import { z } from 'zod';
import { InvalidIdentifierError } from '../errors';
import { IDENTIFIER_PATTERN } from './constants';

export { IDENTIFIER_PATTERN };

export const identifierSchema = z.string().regex(IDENTIFIER_PATTERN).meta({
  description: '1-80 characters: letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
});

/** Route parameters arrive decoded; anything outside the pattern is 400 InvalidIdentifier. */
export function parseIdentifier(value: string | undefined, target: string): string {
  if (value === undefined || !IDENTIFIER_PATTERN.test(value)) throw new InvalidIdentifierError(target);
  return value;
}
