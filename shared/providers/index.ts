export { createProvider } from './createProvider';
export { redactCredentials } from './redact';
export * from './types';
