export { Authenticator } from './authenticate';
export { CompletionService, RESPONSE_HEADERS, type CompletionOutcome, type CompletionRequest } from './CompletionService';
export { BREAKWATER_HEADERS, GatewayApp, type GatewayAppDeps } from './GatewayApp';
export type { GatewayServices } from './GatewayServices';
export { mergePolicies, type Principal } from './Principal';
export { chatCompletionRequestSchema, embeddingsRequestSchema } from './requestSchemas';
export { validateBody } from './validateBody';
