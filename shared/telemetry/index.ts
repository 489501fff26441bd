export { tracingAttemptObserver } from './tracing';
