import { ApiError, request } from './api';
import { useLoad, type Loaded } from './useLoad';

export type Role = 'admin' | 'person';

/**
 * Whether the signed-in person administers credman. The server decides (the console reads no role
 * from the token): one page of one provider, or its 403. Asked once per person, not per token: a
 * renewed session keeps its pages.
 */
export function useRole(person: string, token: string): Loaded<Role> {
  return useLoad(`role:${person}`, async () => {
    try {
      await request(token, 'GET', 'providers?$top=1');
      return 'admin' as const;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return 'person' as const;
      throw error;
    }
  });
}
