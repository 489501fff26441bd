import { parseSecretString, secretEnvVarName, type SecretSource, type SecretValue } from './SecretSource';

/** Reads secret `X` from `BREAKWATER_SECRET_X` on every call, so a changed value is seen at once. */
export class EnvSecretSource implements SecretSource {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async get(name: string): Promise<SecretValue | undefined> {
    const raw = this.env[secretEnvVarName(name)];
    return raw === undefined || raw.trim() === '' ? undefined : parseSecretString(raw);
  }
}
