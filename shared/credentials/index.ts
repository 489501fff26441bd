export { EnvSecretSource } from './EnvSecretSource';
export { parseSecretString, secretEnvVarName, type SecretSource, type SecretValue } from './SecretSource';
