// The trial workers: a Container Apps environment with a serverless GPU workload profile and an event-driven
// Container Apps job that runs the worker image. KEDA's azure-queue scaler starts one execution per queued trial
// (signing in as the worker identity); each execution takes work items from the trial queue until it is empty.
// Logs go to Log Analytics through diagnostic settings (no workspace shared key).
param name string
param location string
param suffix string

param identityId string
param identityClientId string

param workspaceId string
param insightsConnectionString string
param registryServer string
param storageAccountName string

@description('The pipeline\'s name prefix: the worker derives its tables and queues from it.')
param namePrefix string

param trialQueueName string

@description('Worker image, e.g. <registry>.azurecr.io/ca-worker:cuda. Until it is pushed, a public placeholder.')
param image string

@description('Serverless GPU profile of the job: A100 (24 vCPU, 220 GiB) or T4 (8 vCPU, 56 GiB).')
@allowed(['Consumption-GPU-NC-A100', 'Consumption-GPU-NC-T4'])
param gpuProfileType string

@description('Most trials trained at once (job executions).')
@minValue(1)
param maxWorkers int

@description('Seconds one execution may run before Container Apps stops it (the orchestration has its own per-trial timeout).')
param replicaTimeoutSeconds int

var gpuProfileName = 'gpu'
// A replica on a serverless GPU profile gets the whole GPU's share of CPU and memory.
var gpuResources = gpuProfileType == 'Consumption-GPU-NC-A100'
  ? { cpu: 24, memory: '220Gi' }
  : { cpu: 8, memory: '56Gi' }

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${name}-env-${suffix}'
  location: location
  properties: {
    appLogsConfiguration: { destination: 'azure-monitor' }
    workloadProfiles: [
      { name: 'Consumption', workloadProfileType: 'Consumption' }
      { name: gpuProfileName, workloadProfileType: gpuProfileType }
    ]
  }
}

resource environmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: environment
  name: 'logs'
  properties: {
    workspaceId: workspaceId
    // Resource-specific tables (ContainerAppConsoleLogs, ContainerAppSystemLogs) rather than AzureDiagnostics.
    logAnalyticsDestinationType: 'Dedicated'
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

resource job 'Microsoft.App/jobs@2024-10-02-preview' = {
  name: '${name}-trial-worker'
  location: location
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: gpuProfileName
    configuration: {
      triggerType: 'Event'
      replicaTimeout: replicaTimeoutSeconds
      // A failed execution is not retried by the job: the work item becomes visible again in the queue and the
      // worker's own attempt count decides (poison after N).
      replicaRetryLimit: 0
      registries: [{ server: registryServer, identity: identityId }]
      eventTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
        scale: {
          minExecutions: 0
          maxExecutions: maxWorkers
          pollingInterval: 15
          rules: [
            {
              name: 'trial-queue'
              type: 'azure-queue'
              metadata: {
                accountName: storageAccountName
                queueName: trialQueueName
                queueLength: '1'
              }
              identity: identityId
            }
          ]
        }
      }
    }
    template: {
      containers: [
        {
          name: 'trial-worker'
          image: image
          resources: { cpu: gpuResources.cpu, memory: gpuResources.memory }
          env: [
            { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
            { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
            { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'CA__storage__name_prefix', value: namePrefix }
            // An execution ends once the trial queue stays empty this long (it does not hold the GPU until the timeout).
            { name: 'CA__workers__exit_when_idle_seconds', value: '60' }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insightsConnectionString }
          ]
        }
      ]
    }
  }
}

output environmentName string = environment.name
output jobName string = job.name
