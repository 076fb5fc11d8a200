import { Badge, Spinner, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { listConnections, type Connection } from './api';
import { ErrorMessage } from './ErrorMessage';
import { NavLink } from './navigation';
import { href } from './router';
import { useLoad } from './useLoad';

/** A connection's status in plain words. */
function describeStatus(c: Connection): { label: string; detail: string; color: 'success' | 'warning' | 'danger' } {
  switch (c.properties.status) {
    case 'Connected':
      return {
        label: 'Connected',
        detail: c.properties.expiresOn ? `Working; its sign-in lasts until ${new Date(c.properties.expiresOn).toLocaleString()}.` : 'Working: apps can get tokens.',
        color: 'success',
      };
    case 'Pending':
      return { label: 'Waiting for sign-in', detail: 'Nobody has signed in to this connection yet: send its login link to the account owner.', color: 'warning' };
    default:
      return {
        label: 'Needs attention',
        detail: c.properties.error ? `${c.properties.error.code}: ${c.properties.error.message}` : 'Apps cannot get tokens; sign in again.',
        color: 'danger',
      };
  }
}

export function ConnectionsPage({ token, providerId }: { token: string; providerId: string }) {
  const connections = useLoad(`connections:${providerId}:${token}`, () => listConnections(token, providerId));
  return (
    <section aria-labelledby="connections-heading">
      <nav aria-label="Breadcrumb">
        <NavLink to={href.providers()}>Providers</NavLink>
      </nav>
      <Text as="h2" id="connections-heading" size={600} block>
        Connections of {providerId}
      </Text>
      {connections.kind === 'loading' && <Spinner label="Loading connections…" />}
      {connections.kind === 'failed' && <ErrorMessage error={connections.error} />}
      {connections.kind === 'done' && connections.value.length === 0 && <p>This provider has no connection yet.</p>}
      {connections.kind === 'done' && connections.value.length > 0 && (
        <Table aria-labelledby="connections-heading">
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Connection</TableHeaderCell>
              <TableHeaderCell>Grant</TableHeaderCell>
              <TableHeaderCell>Status</TableHeaderCell>
              <TableHeaderCell>What it means</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {connections.value.map((c) => {
              const status = describeStatus(c);
              return (
                <TableRow key={c.id}>
                  <TableCell>
                    {c.properties.displayName ?? c.name} ({c.name})
                  </TableCell>
                  <TableCell>{c.properties.oauth2grantType === 'AuthorizationCode' ? 'A person signs in' : 'App credentials'}</TableCell>
                  <TableCell>
                    <Badge appearance="tint" color={status.color}>
                      {status.label}
                    </Badge>
                  </TableCell>
                  <TableCell>{status.detail}</TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
    </section>
  );
}
