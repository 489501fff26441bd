export { createSqsClient, type SqsClientOptions } from './createSqsClient';
export { jitteredRedelivery, type JitteredRedeliveryOptions, type RedeliveryAction } from './jitteredRedelivery';
export { processSqsBatch, type ProcessBatchOptions } from './processBatch';
export {
  DEFAULT_MAX_RECEIVE_COUNT,
  maxReceiveCountFromEnv,
  QUEUE_ENV,
  taskQueueUrlsFromEnv,
  type TaskQueueUrls,
} from './queueEnv';
export { isRedeliveryError, REDELIVERY_KINDS, RedeliveryError, redeliveryOf, type Redelivery } from './redelivery';
export {
  backoffVisibilitySeconds,
  clampVisibilitySeconds,
  DEFAULT_REDELIVERY_BACKOFF,
  delayVisibilitySeconds,
  MAX_MESSAGE_DELAY_SECONDS,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  type RedeliveryBackoffOptions,
} from './redeliveryDelay';
export { redriveDlq, type RedriveDlqOptions, type RedriveDlqResult } from './redriveDlq';
export { SqsTaskQueue } from './SqsTaskQueue';
export {
  DEFERRALS_ATTRIBUTE,
  deferralsOf,
  queueNameOfArn,
  queueNameOfUrl,
  queueUrlResolver,
  receiveCountOf,
  toSendAttributes,
} from './sqsRecord';
export { encodeTaskMessage, parseTaskMessage } from './taskMessage';
