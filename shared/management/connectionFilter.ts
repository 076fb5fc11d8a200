import { InvalidQueryError } from '../errors';
import { END_USER_ID_PATTERN } from '../model/schemas';

// `$filter` of GET providers/{providerId}/connections: one form only, `endUser/id eq '<id>'`
// (the id's characters hold no quote, so there is nothing to unescape). Anything else is a 400,
// never a filter silently ignored (that would list every end user's connections).

const FORM = /^endUser\/id eq '([^']*)'$/;

export function parseConnectionFilter(raw: string | null): { endUserId: string } | undefined {
  if (raw === null) return undefined;
  const id = FORM.exec(raw)?.[1];
  if (id === undefined || !END_USER_ID_PATTERN.test(id)) {
    throw new InvalidQueryError('$filter', "The only $filter supported is endUser/id eq '<id>', the id 1-200 letters, digits or . _ - @ : | + = /.");
  }
  return { endUserId: id };
}
