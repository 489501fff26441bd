import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock, type Clock } from '../resilience/clock';
import { createSecretsManagerClient } from './createSecretsManagerClient';
import { parseSecretString, type SecretSource, type SecretValue } from './SecretSource';

export interface SecretsManagerSourceOptions {
  /**
   * The client to read with; pass one to choose the endpoint, region or timeouts.
   * @default createSecretsManagerClient() — the function's role, `AWS_REGION`, and
   * `AWS_ENDPOINT_URL_SECRETS_MANAGER` when set
   */
  client?: SecretsManagerClient;
  /**
   * Seconds a value read is reused in this container. Five minutes keeps Secrets Manager off
   * the request path (and its bill) while a rotation is still seen quickly: a 401 refreshes at
   * once anyway.
   * @default 300
   */
  maxAge?: number;
  /**
   * Seconds a missing secret is remembered as missing, so a target whose credential was never
   * stored costs one Secrets Manager call per minute rather than one per request.
   * `forceRefresh` ignores it.
   * @default 60
   */
  missingMaxAge?: number;
  /** Told about read failures other than a missing secret: the secret's name and error, never a value. */
  logger?: Pick<Logger, 'warn'>;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * What may be logged about a failed read. Powertools wraps the SDK's error in a
 * GetParameterError; the original is its `cause`. Only an error Secrets Manager itself answered
 * (it carries `$fault`) has its message kept: a client-side parse error could quote the body.
 */
function describeReadError(error: unknown): { name: string; status?: number; message?: string } {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (!(cause instanceof Error)) return { name: 'Error' };
  const sdk = cause as Error & { $fault?: string; $metadata?: { httpStatusCode?: number } };
  return {
    name: cause.name,
    status: sdk.$metadata?.httpStatusCode,
    message: sdk.$fault === undefined ? undefined : cause.message,
  };
}

/**
 * Provider credentials in AWS Secrets Manager, one secret per credential, read with the
 * function's IAM role through Powertools Parameters and cached in the container.
 * A secret holds `{"api_key": "..."}`, or the bare key. Never throws: a secret that is
 * missing or cannot be read is `undefined`, and the provider reports its target unavailable.
 */
export class SecretsManagerSource implements SecretSource {
  private readonly provider: SecretsProvider;
  private readonly maxAge: number;
  private readonly missingMaxAgeMs: number;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly clock: Clock;
  /** One read per name at a time: the first request joins the cold-start prefetch still in flight. */
  private readonly inFlight = new Map<string, Promise<SecretValue | undefined>>();
  private readonly missingUntil = new Map<string, number>();

  constructor(options: SecretsManagerSourceOptions = {}) {
    this.provider = new SecretsProvider({ awsSdkV3Client: options.client ?? createSecretsManagerClient() });
    this.maxAge = options.maxAge ?? 300;
    this.missingMaxAgeMs = (options.missingMaxAge ?? 60) * 1000;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
  }

  get(name: string, options: { forceRefresh?: boolean } = {}): Promise<SecretValue | undefined> {
    const forceRefresh = options.forceRefresh === true;
    if (!forceRefresh) {
      const missingUntil = this.missingUntil.get(name);
      if (missingUntil !== undefined && this.clock.now() < missingUntil) return Promise.resolve(undefined);
      const pending = this.inFlight.get(name);
      if (pending) return pending;
    }
    const read = this.read(name, forceRefresh).finally(() => {
      if (this.inFlight.get(name) === read) this.inFlight.delete(name);
    });
    this.inFlight.set(name, read);
    return read;
  }

  /**
   * Reads every named secret in parallel, to run at cold start alongside the other start-up
   * work so the first request finds them cached. Failures are ignored here: `get` reports them.
   */
  async prefetch(names: readonly string[]): Promise<void> {
    await Promise.all([...new Set(names)].map((name) => this.get(name)));
  }

  private async read(name: string, forceFetch: boolean): Promise<SecretValue | undefined> {
    try {
      const raw = await this.provider.get(name, { maxAge: this.maxAge, forceFetch });
      const text = typeof raw === 'string' ? raw : raw === undefined ? '' : new TextDecoder().decode(raw);
      if (text.trim() === '') return this.rememberMissing(name);
      this.missingUntil.delete(name);
      return parseSecretString(text);
    } catch (error) {
      const failure = describeReadError(error);
      if (failure.name === 'ResourceNotFoundException') return this.rememberMissing(name);
      this.logger?.warn('secret could not be read; targets using it are unavailable', {
        secret: name,
        error_name: failure.name,
        status: failure.status,
        error_message: failure.message,
      });
      return undefined;
    }
  }

  private rememberMissing(name: string): undefined {
    if (this.missingUntil.size > 1_000) this.missingUntil.clear(); // names come from config, but stay bounded
    this.missingUntil.set(name, this.clock.now() + this.missingMaxAgeMs);
    return undefined;
  }
}
