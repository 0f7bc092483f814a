// CustomerAnalysis on Azure: a storage account (Durable task hub, pipeline tables and artifacts), Application
// Insights, and the Functions app (isolated worker, .NET 10) on a Linux consumption plan.
// Deploy: az deployment group create -g <group> -f infra/main.bicep -p name=<prefix>
@description('Prefix of resource names: 3-11 lowercase letters and digits.')
@minLength(3)
@maxLength(11)
param name string

param location string = resourceGroup().location

@description('Six-field cron (seconds first) of timer-triggered retraining, UTC.')
param retrainingCron string = '0 0 3 * * *'

var suffix = uniqueString(resourceGroup().id)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: toLower('${name}${take(suffix, 12)}')
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
  }
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${name}-logs-${suffix}'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai-${suffix}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: { name: 'Y1', tier: 'Dynamic' }
  properties: { reserved: true } // Linux
}

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'

resource functions 'Microsoft.Web/sites@2024-04-01' = {
  name: '${name}-func-${suffix}'
  location: location
  kind: 'functionapp,linux'
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'DOTNET-ISOLATED|10.0'
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        { name: 'AzureWebJobsStorage', value: storageConnection }
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'PIPELINE_CONFIG', value: 'config/pipeline.json' }
        { name: 'RetrainingCron', value: retrainingCron }
      ]
    }
  }
}

output functionAppName string = functions.name
output functionAppUrl string = 'https://${functions.properties.defaultHostName}/api'
output storageAccountName string = storage.name
