// The Functions app (isolated worker, .NET 10) on Flex Consumption (FC1): the HTTP API, the Durable orchestration,
// the retraining timer and the trial-completion listener. It reaches storage as its user-assigned identity
// (AzureWebJobsStorage__* settings, no connection string) and reads its secrets through Key Vault references.
// Flex sets the runtime in functionAppConfig: FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION are not allowed
// as app settings there. The per-execution limit is host.json's functionTimeout (Flex allows it unbounded).
param name string
param location string
param suffix string

param identityId string
param identityClientId string

param storageAccountName string
param deploymentContainerUrl string
param insightsConnectionString string

@description('The pipeline\'s name prefix (tables, container and queues); config/pipeline.json ships "ca".')
param namePrefix string

@description('The completion queue ({prefix}-trial-done): the relay function\'s %TrialDoneQueue%.')
param trialDoneQueueName string

@description('Six-field cron (seconds first, UTC) of the retraining timer: the RetrainingCron app setting.')
param retrainingCron string

@description('What the nightly retraining trains on (bq://... or blob://...): the RetrainingSource app setting. Empty: the timer skips.')
param retrainingSource string

@description('Key Vault reference of the admin key.')
param adminKeyReference string

@description('Key Vault reference of the BigQuery service-account JSON; empty when there is none.')
param bigQueryReference string

@description('Flex Consumption instance memory (MB): TorchSharp serving needs more than the 2048 default.')
@allowed([2048, 4096])
param instanceMemoryMB int = 4096

param maximumInstanceCount int = 40

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true } // Linux
}

var baseSettings = [
  // Identity-based host storage (Durable task hub, timers, queue triggers): account name + the identity to use.
  { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
  // DefaultAzureCredential in the app's own clients picks the user-assigned identity from this.
  { name: 'AZURE_CLIENT_ID', value: identityClientId }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
  { name: 'RetrainingCron', value: retrainingCron }
  { name: 'RetrainingSource', value: retrainingSource }
  { name: 'CA__storage__name_prefix', value: namePrefix }
  { name: 'TrialDoneQueue', value: trialDoneQueueName }
  { name: 'CA__api__admin_key', value: adminKeyReference }
]
var bigQuerySettings = empty(bigQueryReference) ? [] : [{ name: 'CA_BIGQUERY_CREDENTIALS_JSON', value: bigQueryReference }]

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: '${name}-func-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'dotnet-isolated', version: '10.0' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: concat(baseSettings, bigQuerySettings)
    }
  }
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
