// Key Vault with the app's secrets: the admin key (closed prediction routes) and, when given, the BigQuery service
// account JSON the retraining reads with. App settings refer to them (@Microsoft.KeyVault(...)); the Functions
// identity may read them, nothing else.
param name string
param location string
param suffix string

@description('Principal (the Functions app identity) allowed to read the secrets.')
param readerPrincipalId string

@secure()
@description('Admin key for the API\'s key-protected routes.')
param adminKey string

@secure()
@description('BigQuery service-account JSON (blob:// retraining sources need none).')
param bigQueryServiceAccountJson string

@description('Whether bigQueryServiceAccountJson is given: then it is stored and referenced.')
param storeBigQuery bool

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: take('${name}-kv-${suffix}', 24)
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource admin 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'admin-key'
  properties: { value: adminKey }
}

resource bigQuery 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (storeBigQuery) {
  parent: vault
  name: 'bigquery-service-account'
  properties: { value: bigQueryServiceAccountJson, contentType: 'application/json' }
}

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, readerPrincipalId, keyVaultSecretsUser)
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

// References, not values: the Functions platform resolves them with the app's Key Vault reference identity.
output adminKeyReference string = '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${admin.name})'
output bigQueryReference string = storeBigQuery
  ? '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=bigquery-service-account)'
  : ''
