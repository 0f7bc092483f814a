// Example parameters: az deployment group create -g <group> -f infra/main.bicep -p infra/main.bicepparam
// Secrets come from the environment of the shell that deploys, never from this file:
//   export CA_ADMIN_KEY=$(openssl rand -hex 32)
//   export CA_BIGQUERY_SA_JSON="$(cat service-account.json)"   # only for bq:// sources
using 'main.bicep'

param name = 'custan'
param namePrefix = 'ca'
param retrainingCron = '0 0 3 * * *'
param retrainingSource = 'bq://my-project.analytics_123456.events_*'
param adminKey = readEnvironmentVariable('CA_ADMIN_KEY')
param bigQueryServiceAccountJson = readEnvironmentVariable('CA_BIGQUERY_SA_JSON', '')
param gpuProfileType = 'Consumption-GPU-NC-A100'
param maxWorkers = 4
