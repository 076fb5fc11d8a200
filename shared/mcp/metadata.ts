import type { Settings } from '../settings';

// Where the MCP endpoint and its OAuth Protected Resource Metadata (RFC 9728) live, and what the
// metadata says. RFC 9728 §3.1 puts metadata at the origin's /.well-known/oauth-protected-resource
// followed by the resource's path; a Functions app serves only its route prefix (/api), so the
// document is served under it and every 401 of the endpoint names it in WWW-Authenticate
// (`resource_metadata`, RFC 9728 §5.1), which is where MCP clients look first (docs/mcp.md).

/** The endpoint's route, under /api. */
export const MCP_ROUTE = 'mcp';
/** The metadata's route, under /api: the well-known name, then the endpoint's route. */
export const MCP_METADATA_ROUTE = `.well-known/oauth-protected-resource/${MCP_ROUTE}`;

/** The resource identifier: the endpoint's URL. */
export const mcpResourceUrl = (publicBaseUrl: string): string => `${publicBaseUrl}/api/${MCP_ROUTE}`;
export const mcpMetadataUrl = (publicBaseUrl: string): string => `${publicBaseUrl}/api/${MCP_METADATA_ROUTE}`;

/** RFC 9728 §2: the resource, the issuers whose tokens it accepts (settings' trusted issuers), bearer in the header only. */
export function protectedResourceMetadata(settings: Pick<Settings, 'publicBaseUrl' | 'auth'>): Record<string, unknown> {
  return {
    resource: mcpResourceUrl(settings.publicBaseUrl),
    authorization_servers: [...new Set(settings.auth.issuers.map((i) => i.issuer))],
    bearer_methods_supported: ['header'],
    resource_name: 'credman',
  };
}
