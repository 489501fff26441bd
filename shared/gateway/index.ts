export { KeyIndex } from './authenticate';
export { BREAKWATER_HEADERS, GatewayApp, type GatewayAppDeps } from './GatewayApp';
export { chatCompletionRequestSchema, embeddingsRequestSchema } from './requestSchemas';
export { validateBody } from './validateBody';
