import type { SecretSource } from '../credentials';
import { systemClock, type Clock } from '../resilience/clock';
import type { AuthFailureEvent, UpstreamFailure, UpstreamOutcome } from './types';

/** What an adapter passes on from {@link ProviderDeps} to the refresh. */
export interface CredentialRefreshOptions {
  /** Counts refused credentials; called once per call that saw a 401/403, after its retry. */
  onAuthFailure?: (event: AuthFailureEvent) => void;
  /** Measures the first attempt, so the retry stays within the attempt's timeout. @default systemClock */
  clock?: Clock;
}

export interface CredentialRefreshRequest extends CredentialRefreshOptions {
  secrets: SecretSource;
  /** The secret's name; undefined for an upstream that needs none (a local Ollama). */
  credential: string | undefined;
  timeoutMs: number;
}

/**
 * Sends one attempt with this API key (undefined: no credential) and this timeout. `Body` is
 * what a success holds: a translated answer, or an open stream (its head is what is judged).
 */
export type SendWithKey<Body = Record<string, unknown>> = (
  apiKey: string | undefined,
  timeoutMs: number,
) => Promise<UpstreamOutcome<Body>>;

type HttpErrorOutcome = Extract<UpstreamFailure, { kind: 'http_error' }>;

const isRefusal = (outcome: UpstreamOutcome<unknown>): outcome is HttpErrorOutcome =>
  outcome.kind === 'http_error' && (outcome.status === 401 || outcome.status === 403);

/**
 * Rotation without downtime: when the upstream refuses the cached key (401/403), the secret is
 * read once more past the cache and the call retried ONCE with that value — after a rotation
 * the old key fails until each container's cache expires, and this picks up the new one at
 * the first refusal. A second refusal is returned as is (the engine answers 502
 * `upstream_auth_failed`): one refresh per call, never a loop. The retry runs inside the
 * adapter so the engine sees one outcome, and within what is left of the attempt's timeout.
 */
export async function withCredentialRefresh<Body = Record<string, unknown>>(
  request: CredentialRefreshRequest,
  send: SendWithKey<Body>,
): Promise<UpstreamOutcome<Body>> {
  const { secrets, credential, timeoutMs } = request;
  if (credential === undefined) return send(undefined, timeoutMs);

  const secret = await secrets.get(credential);
  if (!secret?.api_key) return { kind: 'unavailable', reason: `credential "${credential}" is not set` };
  const clock = request.clock ?? systemClock;
  const startedAt = clock.now();
  const first = await send(secret.api_key, timeoutMs);
  if (!isRefusal(first)) return first;

  const refreshed = await secrets.get(credential, { forceRefresh: true });
  const remainingMs = timeoutMs - (clock.now() - startedAt);
  // The retry is a second upstream call within the same attempt: it is counted as one.
  const outcome = refreshed?.api_key && remainingMs > 0 ? { ...(await send(refreshed.api_key, remainingMs)), upstreamCalls: 2 } : first;
  try {
    request.onAuthFailure?.({ credential, status: first.status, recovered: outcome !== first && !isRefusal(outcome) });
  } catch {
    // A failing counter must not turn an answered call into an error.
  }
  return outcome;
}
