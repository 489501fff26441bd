export { createServiceAuth, type ServiceAuthDeps } from './createServiceAuth';
export { credentialIdOf, type AuthContext, type CallCredential, type OutgoingToolRequest, type ServiceAuth } from './ServiceAuth';
export { withQueryParameter } from './apiKeyAuth';
export { NodeSha256 } from './nodeSha256';
