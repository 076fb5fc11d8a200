// The activity's core, free of Azure Functions and of the SDK's classes so that it runs (and is
// tested) anywhere: get the connection's token, call GitHub with it, and when GitHub says 401
// (token revoked or rotated early) get a forced-fresh token and try once more.

/** What `CredmanClient` offers that this needs. */
export interface TokenSource {
  getToken(providerId: string, connectionId: string, options?: { forceRefresh?: boolean }): Promise<{ accessToken: string }>;
}

export interface ListReposOptions {
  providerId: string;
  connectionId: string;
  /** Default https://api.github.com (GitHub Enterprise Server: https://HOST/api/v3). */
  apiBaseUrl?: string;
  /** 1–100, default 30. */
  perPage?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface RepoSummary {
  fullName: string;
  private: boolean;
  htmlUrl: string;
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

export async function listRepos(tokens: TokenSource, opts: ListReposOptions): Promise<RepoSummary[]> {
  const fetchImpl = opts.fetch ?? fetch;
  const url = new URL(`${(opts.apiBaseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '')}/user/repos`);
  url.searchParams.set('per_page', String(opts.perPage ?? 30));
  url.searchParams.set('sort', 'updated');
  const call = async (forceRefresh: boolean) => {
    const { accessToken } = await tokens.getToken(opts.providerId, opts.connectionId, forceRefresh ? { forceRefresh } : {});
    return fetchImpl(url, {
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'credman-sample-durable-github',
      },
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
  };
  let res = await call(false);
  if (res.status === 401) {
    await res.body?.cancel();
    res = await call(true);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GitHub answered HTTP ${res.status} to GET /user/repos.`);
  }
  const repos = (await res.json()) as Array<{ full_name: string; private: boolean; html_url: string }>;
  return repos.map((r) => ({ fullName: r.full_name, private: r.private, htmlUrl: r.html_url }));
}
