// The storage account: Durable task hub, the pipeline's tables and artifacts, the trial queues, and the Flex
// Consumption deployment container. Shared keys are off: every client signs in with a managed identity.
param name string
param location string
param suffix string

@description('The pipeline\'s name prefix (config/pipeline.json storage.name_prefix): queues are {prefix}-trials and {prefix}-trial-done.')
param namePrefix string

@description('Blob container the Flex Consumption plan deploys the Functions package from.')
param deploymentContainerName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: toLower('${name}${take(suffix, 12)}')
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

// The orchestration enqueues trial work items; the GPU job scales on this queue's length.
resource trialQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: '${namePrefix}-trials'
}

// Workers report completion here; a queue-triggered function raises the orchestration's event.
resource doneQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queues
  name: '${namePrefix}-trial-done'
}

output accountName string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output queueEndpoint string = account.properties.primaryEndpoints.queue
output tableEndpoint string = account.properties.primaryEndpoints.table
output trialQueueName string = trialQueue.name
output doneQueueName string = doneQueue.name
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deployments.name}'
