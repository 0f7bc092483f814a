// User-assigned managed identities: one for the Functions app (storage, Key Vault, deployment package), one for the
// trial workers (storage, image pulls, the queue scaler). Created first so role assignments need no app to exist.
param name string
param location string
param suffix string

resource functions 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-func-id-${suffix}'
  location: location
}

resource worker 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-worker-id-${suffix}'
  location: location
}

output functionsId string = functions.id
output functionsClientId string = functions.properties.clientId
output functionsPrincipalId string = functions.properties.principalId
output workerId string = worker.id
output workerClientId string = worker.properties.clientId
output workerPrincipalId string = worker.properties.principalId
