import type { SecretSource, SecretValue } from './SecretSource';

/**
 * Maps a credential name from the config (`openai`) to the secret that holds it on AWS
 * (`breakwater/openai`), so the stack's secrets live under one prefix that IAM can scope.
 */
export class PrefixedSecretSource implements SecretSource {
  constructor(
    private readonly inner: SecretSource & { prefetch?(names: readonly string[]): Promise<void> },
    private readonly prefix: string,
  ) {}

  get(name: string, options?: { forceRefresh?: boolean }): Promise<SecretValue | undefined> {
    return this.inner.get(this.prefix + name, options);
  }

  /** Warms the cache at cold start; failures are the inner source's to log. */
  async prefetch(names: readonly string[]): Promise<void> {
    await this.inner.prefetch?.(names.map((name) => this.prefix + name));
  }
}
