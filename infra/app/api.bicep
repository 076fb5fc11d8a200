// The Function App: Flex Consumption, Node 22, system-assigned identity. Its app settings are
// written by appsettings.bicep once the identity exists (one of them is the identity's own id).

param name string
param location string
param tags object
param planId string
param storageAccountName string

@description('Blob container that Flex Consumption deploys the app package to, read with the app\'s identity.')
param deploymentContainerName string

param instanceMemoryMB int
param maximumInstanceCount int

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

module site 'br/public:avm/res/web/site:0.24.0' = {
  name: '${name}-site'
  params: {
    name: name
    location: location
    // azd deploys the `api` service of azure.yaml to the site carrying this tag.
    tags: union(tags, { 'azd-service-name': 'api' })
    kind: 'functionapp,linux'
    serverFarmResourceId: planId
    managedIdentities: { systemAssigned: true }
    httpsOnly: true
    clientAffinityEnabled: false
    // Flex Consumption has no always-on; FTP is of no use to a package deployment.
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'node', version: '22' }
    }
  }
}

output name string = site.outputs.name
output defaultHostname string = site.outputs.defaultHostname
@description('Object id of the app\'s system-assigned identity: the principal of every role in rbac.bicep.')
output principalId string = site.outputs.?systemAssignedMIPrincipalId ?? ''
