export { loadTracing, type Tracing } from './loadTracing';
export { tracingAttemptObserver } from './tracing';
export { captureByStatus, traceOutcome, TRACE_OUTCOMES, type StatusTracer, type TraceOutcome } from './captureByStatus';
