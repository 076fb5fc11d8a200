import { type HttpRequest, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import type { ActivityHandler, OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { CredmanConnectionError } from '@credman/client';
import { listRepos, type RepoSummary } from '../github';
import { credmanClient, sampleSettings } from '../settings';

// POST /api/orchestrators/githubRepos starts the orchestration; it calls one activity that gets
// the connection's GitHub token from credman and lists the user's repositories.

const ORCHESTRATOR = 'githubReposOrchestrator';
const LIST_REPOS = 'listGitHubRepos';

export type ListReposResult = { status: 'ok'; repos: RepoSummary[] } | { status: 'needsConsent'; code: string; message: string };

export async function startGithubRepos(request: HttpRequest, client: df.DurableClient, context: InvocationContext) {
  const instanceId = await client.startNew(ORCHESTRATOR);
  context.log(`Started ${ORCHESTRATOR} ${instanceId}`);
  return client.createCheckStatusResponse(request, instanceId);
}

export const githubReposOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  // Transient failures (credman or GitHub down past the SDK's own retries) are retried durably.
  const retry = new df.RetryOptions(5_000, 3);
  retry.backoffCoefficient = 2;
  const result = (yield context.df.callActivityWithRetry(LIST_REPOS, retry)) as ListReposResult;
  if (result.status === 'needsConsent') {
    context.df.setCustomStatus({ needsConsent: result.code });
    return result;
  }
  return { status: 'ok', count: result.repos.length, repos: result.repos.map((r) => r.fullName) };
};

export const listGitHubRepos: ActivityHandler = async (_input: unknown, context: InvocationContext): Promise<ListReposResult> => {
  const s = sampleSettings();
  try {
    return { status: 'ok', repos: await listRepos(credmanClient(), { providerId: s.providerId, connectionId: s.connectionId, apiBaseUrl: s.githubApiUrl }) };
  } catch (err) {
    // Retrying cannot help until someone consents again: end with a clear result instead.
    if (err instanceof CredmanConnectionError) {
      context.warn(`credman connection ${s.providerId}/${s.connectionId}: ${err.code}`);
      return { status: 'needsConsent', code: err.code, message: err.message };
    }
    throw err;
  }
};

df.app.orchestration(ORCHESTRATOR, githubReposOrchestrator);
df.app.activity(LIST_REPOS, { handler: listGitHubRepos });
df.app.client.http('startGithubRepos', {
  methods: ['POST'],
  route: 'orchestrators/githubRepos',
  authLevel: 'function',
  handler: startGithubRepos,
});
