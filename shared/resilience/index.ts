export * from './backoff';
export * from './classify';
export * from './clock';
export * from './deadline';
export * from './retryAfter';
export * from './retryBudget';
export * from './deadlineScope';
export * from './lruMap';
