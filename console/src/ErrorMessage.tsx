import { MessageBar, MessageBarBody, MessageBarTitle } from '@fluentui/react-components';
import { ApiError } from './api';

/** An API failure as the person can act on it: the API's code and message, and for 403 what it means. */
export function ErrorMessage({ error }: { error: unknown }) {
  const e = error instanceof ApiError ? error : new ApiError(0, 'ConsoleError', error instanceof Error ? error.message : String(error));
  const title = e.status === 403 ? 'You are not an administrator of credman' : e.status === 401 ? 'Your sign-in is no longer valid' : 'The request failed';
  return (
    <MessageBar intent="error" layout="multiline">
      <MessageBarBody>
        <MessageBarTitle>{title}</MessageBarTitle>
        {e.status === 403 && <p>This page lists data only administrators (the admin app role) may see. Ask an administrator of credman if you need it.</p>}
        {e.status === 401 && <p>Sign out and sign in again.</p>}
        <p>
          <code>{e.code}</code>: {e.message}
        </p>
      </MessageBarBody>
    </MessageBar>
  );
}
