export { ERROR_CODES, type ErrorCode } from './errorCodes';
export { GatewayError, isGatewayError, type GatewayErrorOptions } from './GatewayError';
