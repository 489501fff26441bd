import type { ConfigError } from '../../shared/config';

export const isConfigError = (error: unknown): error is ConfigError =>
  typeof error === 'object' && error !== null && (error as { isConfigError?: unknown }).isConfigError === true;
