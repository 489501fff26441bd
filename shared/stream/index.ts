export * from './StreamEvent';
export { CompletionAssembler, type CompletionMeta } from './assembleCompletion';
export { completionEvents } from './completionEvents';
export { primeStream, type PrimedStream, type StreamBounds } from './primeStream';
export { isUpstreamStreamError, UpstreamStreamError } from './UpstreamStreamError';
