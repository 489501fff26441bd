import { Logger } from '@aws-lambda-powertools/logger';
import type { CustomJsonReplacerFn, LogLevel } from '@aws-lambda-powertools/logger/types';
import { defaultSecretRedactor, type SecretRedactor } from '../redaction/SecretRedactor';

export interface CreateLoggerOptions {
  serviceName?: string;
  /** @default the POWERTOOLS_LOG_LEVEL / AWS_LAMBDA_LOG_LEVEL environment, else INFO */
  logLevel?: LogLevel;
  /** @default defaultSecretRedactor — the one the secret source feeds */
  redactor?: SecretRedactor;
}

/**
 * Every string of a log line (message, attributes, an error's message and stack) with the
 * credentials in use and anything shaped like one cut out. Powertools calls it for every value
 * it serialises, its own error formatting included, so nothing reaches the output unscanned.
 */
export const redactingJsonReplacer =
  (redactor: SecretRedactor): CustomJsonReplacerFn =>
  (_key, value) =>
    typeof value === 'string' ? redactor.redactCredentials(value) : value;

/**
 * A Powertools Logger whose every line is redacted (see {@link redactingJsonReplacer}). Every
 * logger of the gateway and the worker is made here; child loggers inherit the replacer.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const { redactor = defaultSecretRedactor, serviceName, logLevel } = options;
  return new Logger({ serviceName, logLevel, jsonReplacerFn: redactingJsonReplacer(redactor) });
}
