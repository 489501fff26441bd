export {
  IDEMPOTENCY_KEY_HEADER,
  idempotencyError,
  type IdempotencyErrorCode,
} from './idempotencyErrors';
export {
  IDEMPOTENCY_KEY_PREFIX,
  IdempotentExecutor,
  isReplayableResponse,
  MAX_STORED_RESPONSE_BYTES,
  type IdempotentExecutorOptions,
  type IdempotentResult,
  type IdempotentRunInput,
} from './IdempotentExecutor';
export { MAX_IDEMPOTENCY_KEY_LENGTH, parseIdempotencyKey } from './parseIdempotencyKey';
