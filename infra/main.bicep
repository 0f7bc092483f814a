// CustomerAnalysis on Azure, one module per concern:
//   monitoring      Log Analytics + Application Insights
//   identities      user-assigned identities of the Functions app and the trial workers
//   storage         account (shared keys off), trial queues, Flex deployment container
//   storage-access  Blob/Queue/Table data roles for each identity
//   keyvault        admin key and BigQuery service account, readable by the Functions identity
//   registry        container registry, AcrPull for the worker identity
//   functions       Flex Consumption (FC1) Functions app, .NET 10 isolated
//   workers         Container Apps environment with a GPU profile and the queue-scaled trial worker job
// Deploy (README "Deploy to Azure"): az deployment group create -g <group> -f infra/main.bicep -p infra/main.bicepparam
@description('Prefix of resource names: 3-11 lowercase letters and digits.')
@minLength(3)
@maxLength(11)
param name string

param location string = resourceGroup().location

@description('The pipeline\'s storage name prefix: must equal config/pipeline.json storage.name_prefix ("ca").')
param namePrefix string = 'ca'

@description('Six-field cron (seconds first, UTC) of the retraining timer.')
param retrainingCron string = '0 0 3 * * *'

@description('What the nightly retraining trains on: bq://project.dataset.events_* or blob://container/prefix. Empty: the timer skips.')
param retrainingSource string = ''

@secure()
@description('Admin key (x-api-key) for prediction routes when they are closed; stored in Key Vault only.')
param adminKey string

@secure()
@description('BigQuery service-account JSON for bq:// sources; stored in Key Vault only. Empty: none.')
param bigQueryServiceAccountJson string = ''

@description('Trial worker image (<registry>/ca-worker:cuda); a public placeholder until az acr build has pushed it.')
param workerImage string = 'mcr.microsoft.com/k8se/quickstart-jobs:latest'

@allowed(['Consumption-GPU-NC-A100', 'Consumption-GPU-NC-T4'])
param gpuProfileType string = 'Consumption-GPU-NC-A100'

@minValue(1)
param maxWorkers int = 4

@description('Seconds one worker execution may run.')
param workerTimeoutSeconds int = 14400

var suffix = uniqueString(resourceGroup().id)
var deploymentContainerName = 'app-package'

// Built-in roles (ids are the same in every tenant).
var blobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var tableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: { name: name, location: location, suffix: suffix }
}

module identities 'modules/identities.bicep' = {
  name: 'identities'
  params: { name: name, location: location, suffix: suffix }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: name
    location: location
    suffix: suffix
    namePrefix: namePrefix
    deploymentContainerName: deploymentContainerName
  }
}

// The Functions host keeps its leases and the deployment package in blobs: it needs Blob Data Owner.
module functionsStorageAccess 'modules/storage-access.bicep' = {
  name: 'functions-storage-access'
  params: {
    storageAccountName: storage.outputs.accountName
    principalId: identities.outputs.functionsPrincipalId
    roleDefinitionIds: [blobDataOwner, queueDataContributor, tableDataContributor]
  }
}

module workerStorageAccess 'modules/storage-access.bicep' = {
  name: 'worker-storage-access'
  params: {
    storageAccountName: storage.outputs.accountName
    principalId: identities.outputs.workerPrincipalId
    roleDefinitionIds: [blobDataContributor, queueDataContributor, tableDataContributor]
  }
}

module secrets 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: name
    location: location
    suffix: suffix
    readerPrincipalId: identities.outputs.functionsPrincipalId
    adminKey: adminKey
    bigQueryServiceAccountJson: bigQueryServiceAccountJson
    storeBigQuery: !empty(bigQueryServiceAccountJson)
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    name: name
    location: location
    suffix: suffix
    pullerPrincipalId: identities.outputs.workerPrincipalId
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  params: {
    name: name
    location: location
    suffix: suffix
    identityId: identities.outputs.functionsId
    identityClientId: identities.outputs.functionsClientId
    storageAccountName: storage.outputs.accountName
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    namePrefix: namePrefix
    trialDoneQueueName: storage.outputs.doneQueueName
    retrainingCron: retrainingCron
    retrainingSource: retrainingSource
    adminKeyReference: secrets.outputs.adminKeyReference
    bigQueryReference: secrets.outputs.bigQueryReference
  }
  // The app must be able to read its package, storage and secrets when it first starts.
  dependsOn: [functionsStorageAccess]
}

module workers 'modules/workers.bicep' = {
  name: 'workers'
  params: {
    name: name
    location: location
    suffix: suffix
    identityId: identities.outputs.workerId
    identityClientId: identities.outputs.workerClientId
    workspaceId: monitoring.outputs.workspaceId
    insightsConnectionString: monitoring.outputs.insightsConnectionString
    registryServer: registry.outputs.loginServer
    storageAccountName: storage.outputs.accountName
    namePrefix: namePrefix
    trialQueueName: storage.outputs.trialQueueName
    image: workerImage
    gpuProfileType: gpuProfileType
    maxWorkers: maxWorkers
    replicaTimeoutSeconds: workerTimeoutSeconds
  }
  dependsOn: [workerStorageAccess]
}

output functionAppName string = functions.outputs.name
output functionAppUrl string = 'https://${functions.outputs.defaultHostName}/api'
output storageAccountName string = storage.outputs.accountName
output registryName string = registry.outputs.name
output registryServer string = registry.outputs.loginServer
output workerJobName string = workers.outputs.jobName
output insightsName string = monitoring.outputs.insightsName
