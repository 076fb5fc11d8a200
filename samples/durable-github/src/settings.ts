import { CredmanClient, fromFile } from '@credman/client';
import { DEFAULT_GITHUB_API_URL } from './github';

// App settings, read once. One CredmanClient per process: its cache and single flight are what
// make a token call per activity cheap.

export interface SampleSettings {
  providerId: string;
  connectionId: string;
  githubApiUrl: string;
}

let settings: SampleSettings | undefined;
let client: CredmanClient | undefined;

export function sampleSettings(env: NodeJS.ProcessEnv = process.env): SampleSettings {
  if (settings) return settings;
  const missing = ['CREDMAN_BASE_URL', 'CREDMAN_PROVIDER_ID', 'CREDMAN_CONNECTION_ID'].filter((name) => !env[name]);
  if (missing.length) throw new Error(`Missing app settings: ${missing.join(', ')}`);
  settings = Object.freeze({
    providerId: env.CREDMAN_PROVIDER_ID!,
    connectionId: env.CREDMAN_CONNECTION_ID!,
    githubApiUrl: env.GITHUB_API_URL || DEFAULT_GITHUB_API_URL,
  });
  return settings;
}

export function credmanClient(env: NodeJS.ProcessEnv = process.env): CredmanClient {
  sampleSettings(env);
  // In Azure: DefaultAzureCredential, i.e. the app's managed identity (AZURE_CLIENT_ID picks a
  // user-assigned one). Against a local credman host: a dev token in a file (see README).
  client ??= new CredmanClient({
    baseUrl: env.CREDMAN_BASE_URL!,
    ...(env.CREDMAN_TOKEN_FILE ? { platformToken: fromFile(env.CREDMAN_TOKEN_FILE) } : env.CREDMAN_SCOPE ? { scope: env.CREDMAN_SCOPE } : {}),
  });
  return client;
}
