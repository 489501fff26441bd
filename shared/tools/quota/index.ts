export { DynamoToolCallQuota, type DynamoToolCallQuotaOptions, type ToolCallQuota } from './DynamoToolCallQuota';
export { secondsUntilUtcMidnight, utcDay } from './utcDay';
