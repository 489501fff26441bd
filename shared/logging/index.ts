export { createLogger, redactingJsonReplacer, type CreateLoggerOptions } from './createLogger';
