export { ADMIN_ACTIONS, auditAdminAction, type AdminAction, type AuditEntry, type AuditLogger } from './auditLog';
export { createAdminStores, dlqUrlsFromEnv, type AdminStores, type AdminStoresInput } from './AdminStores';
export { breakerTargets, type BreakerTarget } from './breakerTargets';
export { DeadLetters, type DeadLettersOptions, type DlqDepth } from './DeadLetters';
export { forceBreaker, forcedTransition, type BreakerForce } from './forceBreaker';
export { RecentRequests, type RecentRequestsOptions, type RecentSummary, type RequestSample } from './RecentRequests';
export { SpendOverview, type SpendNow } from './SpendOverview';
export { isOperatorPath, requestSample } from './requestSample';
