import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsEndpointOptions } from '../stores/awsEndpoint';

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
  return new SecretsManagerClient({
    ...awsEndpointOptions(options.endpoint, options.region),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
}
