// Every Azure role assignment of the deployment, all to the Function App's system-assigned
// identity, each at the narrowest scope that works. infra/roles.json says why each is needed;
// test/infra checks the two agree.

@description('Object id of the Function App\'s system-assigned identity.')
param appPrincipalId string
param storageAccountName string
param keyVaultName string
param kekName string
param appInsightsName string

// Built-in role definition ids (the same in every tenant).
var keyVaultCryptoUser = '12338af0-0e69-4776-bea7-57ae8d297424'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

resource kek 'Microsoft.KeyVault/vaults/keys@2024-11-01' existing = {
  parent: vault
  name: kekName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Read the KEK's current version, wrap and unwrap data keys: on this one key, not the vault.
resource appUsesKek 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kek.id, appPrincipalId, keyVaultCryptoUser)
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// credman's tables (created on start) and the durable task hub's instance and history tables.
resource appUsesTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The durable task hub's control and work-item queues.
resource appUsesQueues 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Host blobs (timer schedules, durable partition leases, which need blob leases) and the Flex
// Consumption deployment package: Owner, as the Functions host documents for identity-based storage.
resource appUsesBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Entra authentication (the component has local auth disabled).
resource appPublishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}
