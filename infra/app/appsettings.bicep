// All app settings of the Function App, written as one 'appsettings' config after the site exists:
// CREDMAN_APP_OBJECT_ID is the site's own identity, unknown when the site is created. The config
// replaces the whole set on every deployment, so this file (with main.bicep's credmanSettings)
// is the complete list; a setting added by hand in the portal is dropped by the next `azd up`.

param functionAppName string
param appPrincipalId string
param storageAccountName string
param appInsightsName string

@description('credman\'s own settings (shared/settings.ts), built in main.bicep.')
param credmanSettings object

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// The Functions host by identity: blob (deployment package, timer and lease state), queue and
// table (the durable task hub on Azure Storage needs all three service URIs).
var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // Entra ingestion with the system-assigned identity (the component refuses keys).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  // Oryx's remote build installs devDependencies to compile (TypeScript) and ships them unless
  // told to prune: the app needs its dependencies alone (test/infra/productionLoad.test.ts), about
  // 101 MB of node_modules instead of 366 MB.
  PRUNE_DEV_DEPENDENCIES: 'true'
}

// Known only once the site exists.
var identitySettings = {
  CREDMAN_APP_OBJECT_ID: appPrincipalId
}

// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and
// WEBSITE_NODE_DEFAULT_VERSION: the runtime is functionAppConfig.runtime in api.bicep.
module settings 'br/public:avm/res/web/site/config:0.2.2' = {
  name: '${functionAppName}-appsettings'
  params: {
    appName: functionAppName
    name: 'appsettings'
    properties: union(hostSettings, credmanSettings, identitySettings)
  }
}
