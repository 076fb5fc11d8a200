/**
 * The app settings of a credman with a local key file, for tests that run the functions in-process
 * (functions/lib/runtime.ts reads process.env).
 */
export function localAppSettings(connectionString: string, kekFile: string): Record<string, string> {
  return {
    CREDMAN_STORAGE_CONNECTION_STRING: connectionString,
    CREDMAN_KEK_PROVIDER: 'local',
    CREDMAN_LOCAL_KEK_FILE: kekFile,
    CREDMAN_AUTH_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/jwks' }]),
    CREDMAN_AUTH_AUDIENCES: 'api://credman',
    CREDMAN_APP_TENANT_ID: '00000000-0000-4000-8000-00000000de01',
    CREDMAN_APP_OBJECT_ID: '00000000-0000-4000-8000-00000000a901',
    CREDMAN_PUBLIC_BASE_URL: 'http://localhost:7071',
    // As under `npm start`: webhook receivers and identity providers of a laptop are on loopback.
    CREDMAN_ALLOW_PRIVATE_NETWORKS: 'true',
  };
}
