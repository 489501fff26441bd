import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export interface SecretsManagerClientOptions {
  /** Overrides the endpoint; the SDK also honours `AWS_ENDPOINT_URL_SECRETS_MANAGER` on its own. */
  endpoint?: string;
  region?: string;
}

/**
 * A Secrets Manager client tuned for a request path: short timeouts and a single SDK retry.
 * A read happens on a cache miss while a client waits; a Secrets Manager that does not answer
 * within seconds must not hold the request hostage — the target is reported unavailable and
 * the engine falls back instead.
 */
export function createSecretsManagerClient(options: SecretsManagerClientOptions = {}): SecretsManagerClient {
  const local = options.endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost)/.test(options.endpoint);
  return new SecretsManagerClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    // The local endpoint accepts any credentials; real AWS uses the function's role.
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
}
