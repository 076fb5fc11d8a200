import { Button, makeStyles, Spinner, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text } from '@fluentui/react-components';
import { listProviders } from './api';
import { ErrorMessage } from './ErrorMessage';
import { NavLink, useNavigate } from './navigation';
import { href } from './router';
import { useLoad } from './useLoad';

const useStyles = makeStyles({ bar: { display: 'flex', alignItems: 'center', justifyContent: 'space-between' } });

export function ProvidersPage({ token }: { token: string }) {
  const styles = useStyles();
  const navigate = useNavigate();
  const providers = useLoad(`providers:${token}`, () => listProviders(token));
  return (
    <section aria-labelledby="providers-heading">
      <div className={styles.bar}>
        <Text as="h2" id="providers-heading" size={600} block>
          Providers
        </Text>
        <Button
          appearance="primary"
          as="a"
          href={href.catalogue()}
          onClick={(e) => {
            if (e.ctrlKey || e.metaKey || e.shiftKey) return;
            e.preventDefault();
            navigate(href.catalogue());
          }}
        >
          New provider
        </Button>
      </div>
      {providers.kind === 'loading' && <Spinner label="Loading providers…" />}
      {providers.kind === 'failed' && <ErrorMessage error={providers.error} />}
      {providers.kind === 'done' && providers.value.length === 0 && <p>No provider yet: create one with New provider.</p>}
      {providers.kind === 'done' && providers.value.length > 0 && (
        <Table aria-labelledby="providers-heading">
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Provider</TableHeaderCell>
              <TableHeaderCell>Identity provider</TableHeaderCell>
              <TableHeaderCell>Changed</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {providers.value.map((p) => {
              return (
                <TableRow key={p.id}>
                  <TableCell>
                    <NavLink to={href.provider(p.name)}>{p.properties.displayName ?? p.name}</NavLink> ({p.name})
                  </TableCell>
                  <TableCell>{p.properties.identityProvider}</TableCell>
                  <TableCell>{new Date(p.properties.changedOn).toLocaleString()}</TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      )}
    </section>
  );
}
