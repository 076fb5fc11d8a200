import { Spinner } from '@fluentui/react-components';
import { ErrorMessage } from './ErrorMessage';
import { MyConnectionsPage } from './MyConnectionsPage';
import { ProvidersPage } from './ProvidersPage';
import type { Role } from './role';
import type { Loaded } from './useLoad';

/** The console's home: Providers for an administrator, My connections for anyone else (the server said which: ./role). */
export function Home({ token, role }: { token: string; role: Loaded<Role> }) {
  if (role.kind === 'loading') return <Spinner label="Loading…" />;
  if (role.kind === 'failed') return <ErrorMessage error={role.error} />;
  return role.value === 'admin' ? <ProvidersPage token={token} /> : <MyConnectionsPage token={token} />;
}
