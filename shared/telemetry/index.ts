export { loadTracing, type Tracing } from './loadTracing';
export { tracingAttemptObserver } from './tracing';
