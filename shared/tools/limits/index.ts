export * from './DynamoLoopGuard';
export * from './DynamoStaleResponses';
export * from './DynamoTokenBucket';
export * from './gcra';
export * from './rateLimitHeaders';
export * from './llmLoopFingerprint';
