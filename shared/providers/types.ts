import type { SecretSource } from '../credentials';
import type { Clock, RandomSource } from '../resilience';

export const OPERATIONS = { CHAT: 'chat', EMBEDDINGS: 'embeddings' } as const;
export type Operation = (typeof OPERATIONS)[keyof typeof OPERATIONS];

/** One call to one target, in OpenAI's wire format, model and override_params already applied. */
export interface UpstreamRequest {
  operation: Operation;
  body: Record<string, unknown>;
  /** This attempt's timeout: the smaller of the target's request_timeout and the deadline. */
  timeoutMs: number;
  /**
   * Bring-your-own-key: the secret to use instead of the provider config's `credential`.
   * Set from the tenant's policy (operator-controlled), never from the client's request.
   */
  credential?: string;
}

/**
 * What came back, never thrown: the engine decides what each kind means.
 * - `success`: a 2xx whose body was translated to OpenAI's format.
 * - `http_error`: the upstream answered with a non-2xx status.
 * - `network_error`: no HTTP answer (reset, refused, DNS); `code` is node's error code.
 * - `timeout`: no answer within the attempt's timeout.
 * - `malformed`: a 2xx with a body we cannot read — a failure of that target (502 class).
 * - `unavailable`: the target cannot serve this call at all (no credential, operation unsupported).
 */
export type UpstreamOutcome =
  | { kind: 'success'; status: number; headers: Record<string, string>; body: Record<string, unknown> }
  | { kind: 'http_error'; status: number; headers: Record<string, string>; message: string }
  | { kind: 'network_error'; code: string; message: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'malformed'; message: string }
  | { kind: 'unavailable'; reason: string };

export interface ProviderAdapter {
  call(request: UpstreamRequest): Promise<UpstreamOutcome>;
}

/** An upstream refused a credential (401/403); reported after the one refresh-and-retry. */
export interface AuthFailureEvent {
  /** The secret's name, never its value. */
  credential: string;
  /** The first refusal's status. */
  status: number;
  /** True when the refreshed secret was not refused: a rotation was picked up. */
  recovered: boolean;
}

export interface ProviderDeps {
  secrets: SecretSource;
  clock: Clock;
  random: RandomSource;
  /** Counts refused credentials (e.g. a metric). Optional: without it nothing is counted. */
  onAuthFailure?: (event: AuthFailureEvent) => void;
}
