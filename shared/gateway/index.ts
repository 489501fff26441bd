export { Authenticator } from './authenticate';
export { CompletionService, RESPONSE_HEADERS, type CompletionOutcome, type CompletionRequest } from './CompletionService';
export { BREAKWATER_HEADERS, GatewayApp, type GatewayAppDeps } from './GatewayApp';
export type { GatewayServices } from './GatewayServices';
export { mergePolicies, type Principal } from './Principal';
export { chatCompletionRequestSchema, embeddingsRequestSchema } from './requestSchemas';
export {
  checkEmbeddingsInputBounds,
  MAX_EMBEDDING_INPUTS,
  MAX_EMBEDDING_TOKENS_PER_REQUEST,
  MAX_TOKENS_PER_EMBEDDING_INPUT,
} from './embeddingsInput';
export { validateBody } from './validateBody';
