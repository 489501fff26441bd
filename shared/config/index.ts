export {
  compileConfig,
  compileValidatedConfig,
  loadConfigFile,
  validateConfig,
  DEFAULT_RETRY,
  type CompiledConfig,
  type Settings,
  type TenantConfig,
} from './compileConfig';
export { ConfigError, formatPath, isConfigError, type ConfigIssue } from './ConfigError';
export * from './schema';
