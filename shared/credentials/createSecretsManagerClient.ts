import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsEndpointOptions } from '../stores/awsEndpoint';
import { boundCalls, storeClientConfig, type StoreTimeouts } from '../stores/boundedCalls';

export interface SecretsManagerClientOptions {
  /** Overrides the endpoint; the SDK also honours `AWS_ENDPOINT_URL_SECRETS_MANAGER` on its own. */
  endpoint?: string;
  region?: string;
}

/** A read is one attempt of at most 2 s; a fast failure is retried within the same 2 s. */
export const SECRETS_MANAGER_TIMEOUTS: StoreTimeouts = {
  connectionTimeoutMs: 1_000,
  attemptTimeoutMs: 2_000,
  callTimeoutMs: 2_000,
  maxAttempts: 2,
};

/**
 * A Secrets Manager client tuned for a request path: every read ends within 2 s and within the
 * current request's deadline. A read happens on a cache miss while a client waits; a Secrets
 * Manager that does not answer must not hold the request hostage — the target is reported
 * unavailable and the engine falls back instead.
 */
export function createSecretsManagerClient(options: SecretsManagerClientOptions = {}): SecretsManagerClient {
  const timeouts = SECRETS_MANAGER_TIMEOUTS;
  return boundCalls(
    new SecretsManagerClient({ ...awsEndpointOptions(options.endpoint, options.region), ...storeClientConfig(timeouts) }),
    'Secrets Manager',
    timeouts.callTimeoutMs,
  );
}
