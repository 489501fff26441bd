export { loadTracing, type Tracing } from './loadTracing';
export { tracingAttemptObserver } from './tracing';
export { captureByStatus, traceOutcome, TRACE_OUTCOMES, type StatusTracer, type TraceOutcome } from './captureByStatus';
export { RequestMetrics, type CompletionFacts, type RequestFacts, type RequestMetricsOptions } from './requestMetrics';
export { doorOf, errorClassOf, fallbackLevelOf, outcomeOf, storeOfErrorCode, targetDimensionOf } from './requestDimensions';
export { recordStoreUnavailable, type StoreMetrics } from './storeUnavailable';
export { throttleCountingObserver } from './throttleObserver';
export * from './metricNames';
