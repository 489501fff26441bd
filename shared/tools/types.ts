import type { Readable } from 'node:stream';
import type { Principal } from '../gateway/Principal';
import type { Deadline } from '../resilience/deadline';

/**
 * The seams between the tool proxy's parts: the proxy itself (shared/tools/ToolProxy.ts), the
 * OAuth connections of end users (shared/tools/connections/) and the approvals of high-stakes
 * calls (shared/tools/approvals/). Each part implements its side and is injected into the others.
 */

export const TOOL_PRIORITIES = { INTERACTIVE: 'interactive', BACKGROUND: 'background' } as const;
export type ToolPriority = (typeof TOOL_PRIORITIES)[keyof typeof TOOL_PRIORITIES];

/**
 * One call an agent asked for, after authentication and parsing: everything needed to run it
 * now, or to store it and run it later once a person approves it.
 */
export interface ToolCall {
  service: string;
  /** Upper-case HTTP method. */
  method: string;
  /** The path under the service's base URL, as the client sent it (still percent-encoded), starting with `/`. */
  path: string;
  /** The raw query string without `?`, or '' (the virtual key and breakwater parameters removed). */
  query: string;
  /** Request headers that may go upstream (already filtered: no credentials, no hop-by-hop, no x-breakwater-*). */
  headers: Record<string, string>;
  /** The request body, or undefined for none. */
  body?: Buffer;
  /** The end user whose connection an `oauth_user` service uses (`x-breakwater-user`). */
  endUser?: string;
  /** The client's Idempotency-Key: makes POST/PATCH retryable and is forwarded upstream. */
  idempotencyKey?: string;
  priority: ToolPriority;
}

/** Who asked, for policy, limits and the audit line. */
export interface ToolCaller {
  tenant: string;
  keyPrefix: string;
  keyId: string;
  principal: Principal;
}

/** The upstream's answer, relayed as it comes: status, safe headers and a body stream. */
export interface ToolResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable;
}

/**
 * Runs a tool call through the proxy (credential, limits, retries, breaker) with no approval
 * check: what the approvals part calls once a person approved a held call.
 */
export interface ToolCallExecutor {
  /** `context.approvalId` goes on the call's audit line. */
  execute(call: ToolCall, caller: ToolCaller, deadline: Deadline, context?: { approvalId?: string }): Promise<ToolResponse>;
}

/** Identifies one end user's connection to one service, within a tenant. */
export interface ConnectionRef {
  tenant: string;
  user: string;
  service: string;
}

/**
 * OAuth on behalf of a user: the access token to inject, refreshed under a fleet-wide lock.
 * Throws a GatewayError `reauthorization_required` (naming the service and the connect URL)
 * when there is no connection or its refresh token no longer works.
 */
export interface UserTokenSource {
  /** A valid access token (cached until shortly before it expires). */
  accessToken(ref: ConnectionRef, deadline: Deadline): Promise<string>;
  /** After the service answered 401 to `rejected`: a new token (refreshed once), or the same error as above. */
  refreshAfterUnauthorized(ref: ConnectionRef, rejected: string, deadline: Deadline): Promise<string>;
  /** The scopes the user granted, to refuse a call needing others. */
  grantedScopes(ref: ConnectionRef, deadline: Deadline): Promise<readonly string[]>;
}

/** What the proxy answers when a high-stakes call is held: 202 `approval_required`. */
export interface HeldCall {
  approvalId: string;
  /** Epoch ms after which the approval can no longer be given. */
  expiresAt: number;
}

/** The approvals part as the proxy sees it: hold a call that a `high_stakes` rule matched. */
export interface ApprovalGate {
  hold(call: ToolCall, caller: ToolCaller, rule: { method: string; path: string }): Promise<HeldCall>;
}

/** Identifies whose quota a call spends: the service and the credential it is made with. */
export interface RateKey {
  service: string;
  /** A hash naming the credential (platform secret, or tenant+user for OAuth), never the credential. */
  credentialId: string;
}

/**
 * Proactive rate limiting (shared/tools/limits/): a fleet-wide token bucket per service and
 * credential, tightened by what the API's rate-limit headers say.
 */
export interface ToolRateGate {
  /** Waits for a token within the deadline; throws `rate_limited` (429 with Retry-After) when none comes in time. */
  acquire(key: RateKey, priority: ToolPriority, deadline: Deadline): Promise<void>;
  /** Reads `X-RateLimit-*`, `RateLimit-*` and `Retry-After` of an answer to tighten the bucket. */
  observe(key: RateKey, statusCode: number, headers: Readonly<Record<string, string>>): Promise<void>;
}

/** Loop detection: the same key making the same call too often. Throws `loop_detected` (429). */
export interface LoopGuard {
  check(input: { keyId: string; tenant: string; keyPrefix: string; fingerprint: string; maxRepeats: number; windowMs: number }): Promise<void>;
}

/** A good GET answer kept for when the service's breaker is open. */
export interface StoredToolResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Epoch ms. */
  storedAt: number;
}

export interface StaleResponseStore {
  put(key: string, response: StoredToolResponse, maxStaleSeconds: number): Promise<void>;
  get(key: string): Promise<StoredToolResponse | undefined>;
}
