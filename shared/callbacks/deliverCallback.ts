import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { backoffDelay, type BackoffOptions } from '../resilience/backoff';
import { systemClock, systemRandom, type Clock, type RandomSource } from '../resilience/clock';
import { parseRetryAfterValue } from '../resilience/retryAfter';
import { checkCallbackUrl, type HostLookup } from './checkCallbackUrl';
import { SIGNATURE_HEADER, signPayload } from './signature';

/** What one callback response means for the delivery. */
export const CALLBACK_OUTCOMES = { DELIVERED: 'delivered', RETRY: 'retry', GIVE_UP: 'give_up' } as const;
export type CallbackOutcome = (typeof CALLBACK_OUTCOMES)[keyof typeof CALLBACK_OUTCOMES];

/**
 * 2xx is done. 408 and 429 say "not now", 5xx says the receiver broke: both are worth another
 * try. Any other status (4xx, and 3xx, since redirects are not followed: a redirect could point
 * anywhere, past the address check) will not change by retrying.
 */
export function classifyCallbackStatus(status: number): CallbackOutcome {
  if (status >= 200 && status < 300) return CALLBACK_OUTCOMES.DELIVERED;
  if (status === 408 || status === 429 || status >= 500) return CALLBACK_OUTCOMES.RETRY;
  return CALLBACK_OUTCOMES.GIVE_UP;
}

export const DEFAULT_CALLBACK_BACKOFF: BackoffOptions = { mode: 'full', baseMs: 1_000, capMs: 30_000 };

export interface DeliverCallbackOptions {
  url: string;
  /** The result; a string is sent (and signed) byte for byte, anything else as its JSON. */
  body: string | object;
  /** Whose result this is; logged and sent as `x-breakwater-tenant`, never used for the check. */
  tenant: string;
  /** The tenant's callback signing secret (see {@link readCallbackSigningSecret}). */
  signingSecret: string;
  /** From the tenant's policy; see {@link CheckCallbackUrlOptions.allowPrivate}. @default false */
  allowPrivate?: boolean;
  /** @default systemClock */
  clock?: Clock;
  /** @default systemRandom */
  random?: RandomSource;
  /**
   * Per attempt, from connecting to the response's status line. A receiver should acknowledge
   * and do its work later; one that holds the worker longer is treated as down.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Tries in all, the first included. Four tries with the default backoff span up to ~7 s of
   * waiting: enough to ride out a receiver's restart without holding the worker for long.
   * @default 4
   */
  maxAttempts?: number;
  /** Delay before each retry. @default DEFAULT_CALLBACK_BACKOFF (full jitter, 1 s base, 30 s cap) */
  backoff?: BackoffOptions;
  /** @default systemLookup (dns.promises.lookup, all addresses) */
  lookup?: HostLookup;
  /** Stops further attempts (and the one in flight), e.g. near the Lambda's deadline. */
  signal?: AbortSignal;
}

export interface CallbackDelivery {
  delivered: boolean;
  /** POSTs sent, plus tries that failed before sending (DNS, refused address, connection). */
  attempts: number;
  /** The last HTTP status received, if any response came back. */
  lastStatus?: number;
  /** Why it was not delivered (never contains the secret or the body). */
  error?: string;
}

export const USER_AGENT = 'Breakwater-Callback/1';

interface AttemptResult {
  outcome: CallbackOutcome;
  status?: number;
  error?: string;
  retryAfterMs?: number;
}

/**
 * POSTs a task's result to its callback URL, signed with the tenant's secret, retrying
 * transient failures with jittered backoff. Never throws: the result says what happened, and
 * a failed callback never changes the task's own outcome.
 * Each attempt checks the URL again (DNS may have changed) and connects to the address it
 * vetted, never to a second resolution of the name, so a DNS rebinding answer cannot slip a
 * private address in between check and connect.
 */
export async function deliverCallback(options: DeliverCallbackOptions): Promise<CallbackDelivery> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? systemRandom;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const backoff = options.backoff ?? DEFAULT_CALLBACK_BACKOFF;
  const body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);

  let attempts = 0;
  let lastStatus: number | undefined;
  let lastError: string | undefined;
  let previousDelay: number | undefined;
  while (attempts < maxAttempts) {
    if (options.signal?.aborted) return failed(attempts, lastStatus, 'aborted');
    attempts += 1;
    const result = await attempt(options, body, clock, attempts);
    if (result.status !== undefined) lastStatus = result.status;
    lastError = result.error;
    if (result.outcome === CALLBACK_OUTCOMES.DELIVERED) return { delivered: true, attempts, lastStatus: result.status };
    if (result.outcome === CALLBACK_OUTCOMES.GIVE_UP || attempts >= maxAttempts) break;

    const jittered = backoffDelay(attempts - 1, backoff, random, previousDelay);
    previousDelay = jittered;
    // A receiver that says when to come back is believed, up to the backoff's cap.
    const delay = Math.min(backoff.capMs, Math.max(jittered, result.retryAfterMs ?? 0));
    try {
      await clock.sleep(delay, options.signal);
    } catch {
      return failed(attempts, lastStatus, 'aborted');
    }
  }
  return failed(attempts, lastStatus, lastError);
}

/** Absent fields stay absent (not `undefined`), so results compare and log cleanly. */
function failed(attempts: number, lastStatus: number | undefined, error: string | undefined): CallbackDelivery {
  return {
    delivered: false,
    attempts,
    ...(lastStatus === undefined ? {} : { lastStatus }),
    ...(error === undefined ? {} : { error }),
  };
}

async function attempt(
  options: DeliverCallbackOptions,
  body: string,
  clock: Clock,
  attemptNumber: number,
): Promise<AttemptResult> {
  const check = await checkCallbackUrl(options.url, { allowPrivate: options.allowPrivate, lookup: options.lookup });
  if (!check.ok) {
    // A refused address is policy, not a blip; an unresolvable name may be one.
    const outcome = check.code === 'unresolvable' ? CALLBACK_OUTCOMES.RETRY : CALLBACK_OUTCOMES.GIVE_UP;
    return { outcome, error: `callback_url refused: ${check.reason}` };
  }
  // Signed per attempt: receivers reject old timestamps, and a retry may come minutes later.
  const signature = signPayload(body, options.signingSecret, clock.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': USER_AGENT,
    [SIGNATURE_HEADER]: signature,
    'x-breakwater-tenant': options.tenant,
    'x-breakwater-attempt': String(attemptNumber),
  };
  try {
    const response = await post(check.url, check.address, check.family, headers, body, options.timeoutMs ?? 10_000, options.signal);
    const outcome = classifyCallbackStatus(response.status);
    const retryAfter = response.headers['retry-after'];
    return {
      outcome,
      status: response.status,
      error: outcome === CALLBACK_OUTCOMES.DELIVERED ? undefined : `receiver answered ${response.status}`,
      retryAfterMs: typeof retryAfter === 'string' ? parseRetryAfterValue(retryAfter, clock.now()) : undefined,
    };
  } catch (error) {
    return { outcome: CALLBACK_OUTCOMES.RETRY, error: describeNetworkError(error) };
  }
}

/** A lookup that answers every name with the vetted address, in both callback shapes net uses. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_hostname: string, lookupOptions: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (lookupOptions?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
}

function post(
  url: URL,
  address: string,
  family: 4 | 6,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      {
        method: 'POST',
        protocol: url.protocol,
        // The name stays the URL's, so TLS still verifies the certificate for it and the Host
        // header is right; only the connection is pinned to the vetted address.
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        // Basic credentials in the URL are how some receivers authenticate webhooks.
        auth: url.username === '' ? undefined : `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`,
        headers,
        lookup: pinnedLookup(address, family),
        // No pooled sockets: a kept-alive socket to this host name may have been opened by
        // other code to an address nobody vetted.
        agent: false,
        signal: combined,
      },
      (response) => {
        // The answer is the status; the body is drained unread (and bounded by the timeout).
        response.resume();
        response.on('error', () => {});
        resolve({ status: response.statusCode ?? 0, headers: response.headers });
      },
    );
    request.on('error', (error) => reject(timeout.aborted ? new Error(`timed out after ${timeoutMs} ms`) : error));
    request.end(body);
  });
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return 'network error';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== 'ABORT_ERR' ? `network error (${code})` : error.message;
}
