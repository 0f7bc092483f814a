// Container registry for the trial worker image (az acr build pushes it); the worker identity may pull, nothing
// may sign in with an admin user.
param name string
param location string
@description('uniqueString of the resource group (13 characters).')
@minLength(13)
@maxLength(13)
param suffix string

@description('Principal (the trial worker identity) allowed to pull images.')
param pullerPrincipalId string

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: toLower('${name}acr${suffix}')
  location: location
  sku: { name: 'Basic' }
  properties: { adminUserEnabled: false }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, pullerPrincipalId, acrPull)
  properties: {
    principalId: pullerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
