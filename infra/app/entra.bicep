// The app registration that callers get tokens for (its client id and identifier URI are
// credman's audiences), its admin app role, and its service principal. Microsoft Graph Bicep
// extension (bicepconfig.json); the deploying identity needs the right to register applications.
extension microsoftGraphV1

@description('Immutable key of the registration for the Graph extension (redeploys update the same app).')
param uniqueName string
param displayName string
param identifierUri string

@description('Value of the app role that the management API requires (CREDMAN_ADMIN_ROLE).')
param adminRole string

@description('Value of the app role that lets an app create connect sessions (CREDMAN_CONNECT_ROLE).')
param connectRole string

@description('Object id of a user or service principal given the admin role: the deployer under azd, unless an earlier deployment gave it already (a second assignment is refused). Empty: none.')
param adminPrincipalId string = ''

@description('Client ids that may get user tokens for the API without a consent prompt (Azure CLI by default).')
param preAuthorizedClientIds array

@description('Where the console (docs/console.md) returns people after sign-in and sign-out: its single-page-application redirect URIs.')
param consoleRedirectUris array = []

// Stable ids: redeploying must not create a second role or scope, and Graph refuses to drop an
// enabled one ("cannot be deleted or updated unless disabled first"). So the role's id does not
// follow adminRole: renaming the role updates it in place. 'Credman.Admin' keeps the id that the
// first deployments derived from the default value.
var adminRoleId = guid(uniqueName, 'appRole', 'Credman.Admin')
var connectRoleId = guid(uniqueName, 'appRole', 'Credman.Connect')
var accessScopeId = guid(uniqueName, 'scope', 'user_impersonation')

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [identifierUri]
  // The console signs people in from the browser: authorization code with PKCE, no secret.
  spa: {
    redirectUris: consoleRedirectUris
  }
  api: {
    // v2 tokens: issuer login.microsoftonline.com/<tenant>/v2.0, `aud` = the client id.
    requestedAccessTokenVersion: 2
    // A delegated scope so that people (and tools acting for them) can get a token for the API.
    oauth2PermissionScopes: [
      {
        id: accessScopeId
        value: 'user_impersonation'
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Access credman'
        adminConsentDescription: 'Call credman as the signed-in user: what the user may do is decided by credman (app role, access policies).'
        userConsentDisplayName: 'Access credman'
        userConsentDescription: 'Call credman as you.'
      }
    ]
    preAuthorizedApplications: [
      for clientId in preAuthorizedClientIds: {
        appId: clientId
        delegatedPermissionIds: [accessScopeId]
      }
    ]
  }
  appRoles: [
    {
      id: adminRoleId
      value: adminRole
      displayName: 'credman administrator'
      description: 'Manage identity providers, connections, access policies and webhooks of credman.'
      allowedMemberTypes: ['User', 'Application']
      isEnabled: true
    }
    {
      id: connectRoleId
      value: connectRole
      displayName: 'credman connect sessions'
      description: 'Create connect sessions that let the app\'s users connect their own accounts, and confirm their consent.'
      allowedMemberTypes: ['Application']
      isEnabled: true
    }
  ]
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
}

// An Entra app role assignment (not Azure RBAC, hence not in rbac.bicep): it belongs to the app
// registration above and lets whoever ran `azd up` use the management API at once.
resource deployerIsAdmin 'Microsoft.Graph/appRoleAssignedTo@v1.0' = if (!empty(adminPrincipalId)) {
  appRoleId: adminRoleId
  principalId: adminPrincipalId
  resourceId: servicePrincipal.id
}

output clientId string = app.appId
output identifierUri string = identifierUri
output servicePrincipalId string = servicePrincipal.id
