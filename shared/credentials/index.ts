export { createSecretsManagerClient, type SecretsManagerClientOptions } from './createSecretsManagerClient';
export { EnvSecretSource } from './EnvSecretSource';
export { SecretsManagerSource, type SecretsManagerSourceOptions } from './SecretsManagerSource';
export { parseSecretString, secretEnvVarName, type SecretSource, type SecretValue } from './SecretSource';
export { PrefixedSecretSource } from './PrefixedSecretSource';
