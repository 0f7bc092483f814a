// Logs and telemetry: one Log Analytics workspace (Container Apps logs, Application Insights' store) and the
// Application Insights resource the Functions app and the trial workers report to.
param name string
param location string
param suffix string

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

output workspaceId string = logs.id
output insightsName string = insights.name
output insightsConnectionString string = insights.properties.ConnectionString
