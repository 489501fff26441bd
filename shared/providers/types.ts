import type { SecretSource } from '../credentials';
import type { Clock, RandomSource } from '../resilience';
import type { StreamEvent } from '../stream/StreamEvent';

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
 * - `unsupported`: the request has a parameter this target cannot honour; refused before any
 *   call (the client's request, not the target, is at fault: 400 `unsupported_parameter`).
 *
 * `upstreamCalls` is set when one attempt made more than one call (a credential re-read and
 * retried after a 401): `x-breakwater-attempts` counts upstream calls.
 */
export type UpstreamOutcome<Body = Record<string, unknown>> = (
  | { kind: 'success'; status: number; headers: Record<string, string>; body: Body }
  | UpstreamFailure
) & { upstreamCalls?: number };

/** Every way a call can fail, buffered or streamed. */
export type UpstreamFailure =
  | { kind: 'http_error'; status: number; headers: Record<string, string>; message: string }
  | { kind: 'network_error'; code: string; message: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'malformed'; message: string }
  | { kind: 'unavailable'; reason: string }
  | UnsupportedParameter;

/** A chat parameter a target cannot honour, named with the target: "logprobs is not supported by anthropic/claude-x". */
export interface UnsupportedParameter {
  kind: 'unsupported';
  /** The request field, as the client named it (`logprobs`, `response_format`). */
  param: string;
  message: string;
}

/**
 * A stream whose head (a 2xx status and headers) has arrived. `events` yields the canonical
 * events as the upstream sends them and throws an {@link UpstreamStreamError} when the stream
 * fails; it ends after the upstream's last event. `abort` closes the upstream connection at
 * once (a client that went away, a stalled stream): `events` then ends or throws.
 */
export interface UpstreamStream {
  events: AsyncIterable<StreamEvent>;
  abort(): void;
}

/** What opening a stream gives: the stream itself on a 2xx head, else the failure. */
export type StreamOutcome = UpstreamOutcome<UpstreamStream>;

export interface ProviderAdapter {
  call(request: UpstreamRequest): Promise<UpstreamOutcome>;
  /**
   * Opens a streamed chat completion (`request.body.stream` is true and
   * `stream_options.include_usage` is set, so the upstream reports usage). `timeoutMs` bounds
   * the wait for the response head; the engine bounds the first token and the gaps after it.
   */
  stream(request: UpstreamRequest): Promise<StreamOutcome>;
  /**
   * The parameter this target cannot honour in a request, without calling it: the engine asks
   * every target a route may reach before the first call, so a fallback never changes the shape
   * of an answer unnoticed. Absent: the target honours whatever it is sent (OpenAI's format).
   */
  unsupported?(request: Pick<UpstreamRequest, 'operation' | 'body'>): UnsupportedParameter | undefined;
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
