// credman in one resource group: a Flex Consumption Function App reaching its storage account, Key
// Vault key and Application Insights with its system-assigned identity (no keys, no connection
// strings), plus the Entra app registration that callers get tokens for.
//
// Scope: a resource group (azd asks for one, or creates rg-<env>), so that deploying needs rights
// on that group only (Contributor + Role Based Access Control Administrator, or Owner), never on
// the subscription. `az deployment group create -g <rg> -f infra/main.bicep` deploys the same file.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds the unique suffix of every resource name.')
param environmentName string

@description('Region of every resource (one where Flex Consumption is offered).')
@metadata({ azd: { type: 'location' } })
param location string = resourceGroup().location

@description('Object id of the person or workload deploying (azd fills AZURE_PRINCIPAL_ID). It is given the admin app role of the app registration this deployment creates, so that the management API is usable right after `azd up`. Empty: nobody is.')
param principalId string = ''

// ---- Entra app registration (the audience of callers' tokens) ----

@description('Create the app registration with the Microsoft Graph Bicep extension (needs the right to register applications). false: pass existingAppClientId and existingAppIdentifierUri of one made by hand (docs/deployment.md).')
param createEntraApp bool = true

@description('Client id of an existing app registration, used when createEntraApp is false.')
param existingAppClientId string = ''

@description('Identifier URI of an existing app registration, used when createEntraApp is false.')
param existingAppIdentifierUri string = ''

@description('Identifier URI of the app registration created here. Empty: api://<tenant id>/credman-<suffix>, a form that tenants restricting identifier URIs accept.')
param entraIdentifierUri string = ''

@description('Client ids allowed to get user tokens for the API without a consent prompt. Default: Azure CLI, so that `az account get-access-token --resource <identifier URI>` works.')
param preAuthorizedClientIds array = ['04b07795-8ddb-461a-bbee-02f9e1bf7b46']

// ---- what earlier deployments left (azd keeps main.bicep's outputs in its environment and
// main.parameters.json reads them back), for the writes that Azure does not repeat harmlessly ----

@description('true once a deployment created the KEK (output CREDMAN_KEK_EXISTS): later ones leave the key, rotated or not, as it is.')
param kekExists bool = false

@description('Object ids that earlier deployments gave the admin app role, comma-separated (output CREDMAN_ADMIN_PRINCIPAL_IDS): the deployer is assigned it only when not among them.')
param adminPrincipalIds string = ''

// ---- credman settings (shared/settings.ts; defaults are the schema's) ----

@description('Token issuers trusted besides this tenant\'s Entra ID, e.g. a Kubernetes cluster\'s or GitHub Actions\' OIDC issuer: [{ issuer, jwksUri, audiences?, kind: \'oidc\' }].')
param extraTrustedIssuers array = []

@description('Public base URL without trailing slash, e.g. a custom domain. Empty: https://<default host name> of the app.')
param publicBaseUrl string = ''

@description('Origins besides the app\'s own that login links may send the browser back to, comma-separated.')
param allowedRedirectOrigins string = ''

@description('App role (roles claim) that the management API requires.')
param adminRole string = 'Credman.Admin'

@description('App role (roles claim) that lets an app create connect sessions for its users.')
param connectRole string = 'Credman.Connect'

@description('Prefix of every credman table name.')
param tablePrefix string = 'credman'

param dekCacheTtlSeconds int = 900
param dekCacheMaxEntries int = 10000
param authClockSkewSeconds int = 60
param idpTimeoutSeconds int = 10
param idpRetries int = 2
param idpCallsPerMinute int = 250
@description('Identity providers on a private network (reached through VNet integration): host names, IP addresses or CIDR ranges, comma-separated, that token, discovery and registration calls may reach even though private networks are refused. Empty: public identity providers only.')
param idpAllowedPrivateHosts string = ''
@description('A caller\'s forceRefresh is answered with a token obtained within this many seconds (0: off).')
param forceRefreshMinIntervalSeconds int = 30
@description('Forced refreshes reaching the identity provider per minute: per caller on a connection, per connection, per OAuth client.')
param forceRefreshPerCallerPerMinute int = 3
param forceRefreshPerConnectionPerMinute int = 6
param forceRefreshPerClientPerMinute int = 60
param tokenCache bool = true
param policyCacheSeconds int = 30
param expiryWarningDays int = 14
param lifecycleActiveWindowHours int = 24
param lifecycleReminderSeconds int = 86400

// ---- sizing ----

@description('Flex Consumption instance memory (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Flex Consumption scale-out limit.')
param maximumInstanceCount int = 100

@description('Storage redundancy of the account holding credman\'s tables and the durable task hub.')
@allowed(['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'])
param storageSkuName string = 'Standard_LRS'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}credman-${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var deploymentContainerName = 'app-package'

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.16.1' = {
  name: 'logAnalytics'
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

// Workspace-based, and Entra-only ingestion: the app sends telemetry with its identity.
module appInsights 'br/public:avm/res/insights/component:0.8.0' = {
  name: 'appInsights'
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
    retentionInDays: 30
  }
}

// One account for the Functions host (deployment package, timers, durable task hub) and credman's
// tables. Shared keys are off: everything reaches it by identity.
module storage 'br/public:avm/res/storage/storage-account:0.33.0' = {
  name: 'storage'
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSkuName
    kind: 'StorageV2'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [{ name: deploymentContainerName }]
    }
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
    kekExists: kekExists
  }
}

module plan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: 'plan'
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    skuName: 'FC1'
    kind: 'functionapp'
    reserved: true
    zoneRedundant: false
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  params: {
    name: functionAppName
    location: location
    tags: tags
    planId: plan.outputs.resourceId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

var adminsBefore = filter(map(split(adminPrincipalIds, ','), p => trim(p)), p => !empty(p))
// Graph creates an app role assignment with a POST and refuses a second one for the same principal
// (msgraph-bicep-types#161): it is asked for only for a deployer that no earlier deployment assigned.
var deployerNeedsAdmin = !empty(principalId) && !contains(adminsBefore, principalId)

module entra 'app/entra.bicep' = if (createEntraApp) {
  name: 'entra'
  params: {
    uniqueName: 'credman-${resourceToken}'
    displayName: 'credman (${environmentName})'
    identifierUri: !empty(entraIdentifierUri) ? entraIdentifierUri : 'api://${tenant().tenantId}/credman-${resourceToken}'
    adminRole: adminRole
    connectRole: connectRole
    adminPrincipalId: deployerNeedsAdmin ? principalId : ''
    preAuthorizedClientIds: preAuthorizedClientIds
    consoleRedirectUris: ['${baseUrl}/api/console/callback', '${baseUrl}/api/console/']
  }
}

var appClientId = createEntraApp ? entra!.outputs.clientId : existingAppClientId
var appIdentifierUri = createEntraApp ? entra!.outputs.identifierUri : existingAppIdentifierUri

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  params: {
    appPrincipalId: api.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    kekName: keyVault.outputs.kekName
    appInsightsName: appInsights.outputs.name
  }
}

// Entra ID v2 tokens of this tenant: people (the admin role) and Azure workloads (managed identities).
var entraIssuer = {
  issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  jwksUri: '${environment().authentication.loginEndpoint}${tenant().tenantId}/discovery/v2.0/keys'
  kind: 'entra'
}

// The console signs people in with the app's own registration (docs/console.md: its SPA redirect URI).
var consoleOidc = {
  authority: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  clientId: appClientId
  // offline_access: a refresh token (24 hours for a SPA) renews the session without iframes.
  scopes: 'openid profile offline_access ${appIdentifierUri}/user_impersonation'
}

// Every setting of shared/settings.ts that Azure needs (test/infra checks the list against the schema).
var credmanSettings = {
  CREDMAN_TABLE_ENDPOINT: 'https://${storage.outputs.name}.table.${environment().suffixes.storage}'
  CREDMAN_TABLE_PREFIX: tablePrefix
  CREDMAN_KEK_PROVIDER: 'keyvault'
  CREDMAN_KEY_VAULT_KEY_ID: keyVault.outputs.kekUri
  CREDMAN_DEK_CACHE_TTL_SECONDS: string(dekCacheTtlSeconds)
  CREDMAN_DEK_CACHE_MAX_ENTRIES: string(dekCacheMaxEntries)
  CREDMAN_AUTH_ISSUERS: string(concat([entraIssuer], extraTrustedIssuers))
  // v2 tokens carry the client id as `aud`; the identifier URI is accepted too.
  CREDMAN_AUTH_AUDIENCES: '${appClientId},${appIdentifierUri}'
  CREDMAN_ADMIN_ROLE: adminRole
  CREDMAN_CONNECT_ROLE: connectRole
  CREDMAN_AUTH_CLOCK_SKEW_SECONDS: string(authClockSkewSeconds)
  CREDMAN_APP_TENANT_ID: tenant().tenantId
  // Blank means unset: the app falls back to https://$WEBSITE_HOSTNAME.
  CREDMAN_PUBLIC_BASE_URL: publicBaseUrl
  CREDMAN_ALLOWED_REDIRECT_ORIGINS: allowedRedirectOrigins
  CREDMAN_IDP_TIMEOUT_SECONDS: string(idpTimeoutSeconds)
  CREDMAN_IDP_RETRIES: string(idpRetries)
  CREDMAN_IDP_CALLS_PER_MINUTE: string(idpCallsPerMinute)
  CREDMAN_IDP_ALLOWED_PRIVATE_HOSTS: idpAllowedPrivateHosts
  CREDMAN_FORCE_REFRESH_MIN_INTERVAL_SECONDS: string(forceRefreshMinIntervalSeconds)
  CREDMAN_FORCE_REFRESH_PER_CALLER_PER_MINUTE: string(forceRefreshPerCallerPerMinute)
  CREDMAN_FORCE_REFRESH_PER_CONNECTION_PER_MINUTE: string(forceRefreshPerConnectionPerMinute)
  CREDMAN_FORCE_REFRESH_PER_CLIENT_PER_MINUTE: string(forceRefreshPerClientPerMinute)
  // string(bool) is 'True' in ARM; the schema wants lower case.
  CREDMAN_TOKEN_CACHE: tokenCache ? 'true' : 'false'
  CREDMAN_POLICY_CACHE_SECONDS: string(policyCacheSeconds)
  // Never in Azure: an admin must not be able to point webhooks or identity providers at the
  // platform's own network (a private identity provider is named in idpAllowedPrivateHosts).
  CREDMAN_ALLOW_PRIVATE_NETWORKS: 'false'
  CREDMAN_EXPIRY_WARNING_DAYS: string(expiryWarningDays)
  CREDMAN_LIFECYCLE_ACTIVE_WINDOW_HOURS: string(lifecycleActiveWindowHours)
  CREDMAN_LIFECYCLE_REMINDER_SECONDS: string(lifecycleReminderSeconds)
  CREDMAN_CONSOLE_OIDC: string(consoleOidc)
}

// After the role assignments: the host's first start then finds its storage, key and telemetry usable.
module appSettings 'app/appsettings.bicep' = {
  name: 'appSettings'
  dependsOn: [rbac]
  params: {
    functionAppName: api.outputs.name
    appPrincipalId: api.outputs.principalId
    storageAccountName: storage.outputs.name
    appInsightsName: appInsights.outputs.name
    credmanSettings: credmanSettings
  }
}

var baseUrl = !empty(publicBaseUrl) ? publicBaseUrl : 'https://${api.outputs.defaultHostname}'

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output CREDMAN_API_BASE_URL string = '${baseUrl}/api'
@description('Register this redirect URL at every identity provider that credman connects to.')
output CREDMAN_CONSENT_REDIRECT_URL string = '${baseUrl}/api/consent/callback'
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output CREDMAN_KEY_VAULT_KEY_ID string = keyVault.outputs.kekUri
@description('Read back as kekExists by the next deployment: the KEK is there now.')
output CREDMAN_KEK_EXISTS bool = true
@description('Read back as adminPrincipalIds by the next deployment: who holds the admin app role through a deployment.')
output CREDMAN_ADMIN_PRINCIPAL_IDS string = join(createEntraApp && !empty(principalId) ? union(adminsBefore, [principalId]) : adminsBefore, ',')
output CREDMAN_APP_CLIENT_ID string = appClientId
output CREDMAN_APP_IDENTIFIER_URI string = appIdentifierUri
output CREDMAN_APP_OBJECT_ID string = api.outputs.principalId
