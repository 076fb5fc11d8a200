import { Spinner } from '@fluentui/react-components';
import { ApiError, request } from './api';
import { ErrorMessage } from './ErrorMessage';
import { MyConnectionsPage } from './MyConnectionsPage';
import { ProvidersPage } from './ProvidersPage';
import { useLoad } from './useLoad';

/**
 * The console's home: Providers for an administrator, My connections for anyone else. The server
 * decides who is an administrator (the console reads no role from the token): one page of one
 * provider, or its 403.
 */
export function Home({ token }: { token: string }) {
  const who = useLoad(`home:${token}`, async () => {
    try {
      await request(token, 'GET', 'providers?$top=1');
      return 'admin' as const;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return 'person' as const;
      throw error;
    }
  });
  if (who.kind === 'loading') return <Spinner label="Loading…" />;
  if (who.kind === 'failed') return <ErrorMessage error={who.error} />;
  return who.value === 'admin' ? <ProvidersPage token={token} /> : <MyConnectionsPage token={token} />;
}
