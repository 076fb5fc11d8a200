// The vault holding credman's key-encryption key (KEK), and the key with its rotation policy.
// RBAC mode: who may use the key is decided by role assignments (rbac.bicep), not access policies.
//
// ARM writes a key with "create if not exist": it never updates a key or adds a version, and when
// the key exists but the request's creation parameters differ from its current version the PUT
// fails (KeyCreationParametersDidNotMatchExistingKey). After the first rotation the current version
// is one Key Vault made, so the key is written by the deployment that creates it and no other.

param name string
param location string
param tags object

@description('Name of the KEK; the app reads its current version and wraps data keys with it.')
param kekName string = 'credman-kek'

@description('RSA modulus of the KEK (RSA-OAEP-256 wrapping of 256-bit data keys).')
@allowed([2048, 3072, 4096])
param kekSize int = 3072

@description('Key Vault makes a new KEK version this long after the current one was created (DESIGN: monthly, as API Management). The daily rewrap moves data keys to it.')
param rotateAfter string = 'P30D'

@description('Each new KEK version expires this long after creation; rotation comes well before.')
param expiryTime string = 'P90D'

@description('Event Grid KeyNearExpiry notice this long before a version expires (a stuck rotation shows up).')
param notifyBeforeExpiry string = 'P7D'

@description('Days a deleted vault or key stays recoverable (7 to 90).')
param softDeleteRetentionInDays int = 90

@description('true once an earlier deployment created the KEK (azd carries it from main.bicep\'s output CREDMAN_KEK_EXISTS): the key, rotated since or not, is then left as it is.')
param kekExists bool = false

module vault 'br/public:avm/res/key-vault/vault:0.14.0' = {
  name: '${name}-vault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // A purged KEK would make every stored secret unreadable: nobody may purge before retention ends.
    enablePurgeProtection: true
    // Nothing but credman's identity needs this vault: no VM, disk or template access.
    enableVaultForDeployment: false
    enableVaultForDiskEncryption: false
    enableVaultForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
  }
}

resource createdVault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: name
}

resource kek 'Microsoft.KeyVault/vaults/keys@2024-11-01' = if (!kekExists) {
  parent: createdVault
  name: kekName
  dependsOn: [vault]
  properties: {
    kty: 'RSA'
    keySize: kekSize
    keyOps: ['wrapKey', 'unwrapKey']
    attributes: { enabled: true }
    rotationPolicy: {
      attributes: { expiryTime: expiryTime }
      lifetimeActions: [
        { action: { type: 'rotate' }, trigger: { timeAfterCreate: rotateAfter } }
        { action: { type: 'notify' }, trigger: { timeBeforeExpiry: notifyBeforeExpiry } }
      ]
    }
  }
}

output name string = vault.outputs.name
output uri string = vault.outputs.uri
output kekName string = kekName
// Built from the vault's name, not read from the key resource, which later deployments skip.
@description('The KEK without a version (https://<vault>.vault.azure.net/keys/credman-kek): the app follows rotations.')
output kekUri string = 'https://${vault.outputs.name}${environment().suffixes.keyvaultDns}/keys/${kekName}'
