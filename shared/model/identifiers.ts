import { z } from 'zod';
import { InvalidIdentifierError } from '../errors';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE } from './constants';

export { IDENTIFIER_PATTERN };

export const identifierSchema = z.string().regex(IDENTIFIER_PATTERN).meta({ description: IDENTIFIER_RULE });

/** Route parameters arrive decoded; anything outside the pattern is 400 InvalidIdentifier. */
export function parseIdentifier(value: string | undefined, target: string): string {
  if (value === undefined || !IDENTIFIER_PATTERN.test(value)) throw new InvalidIdentifierError(target);
  return value;
}
