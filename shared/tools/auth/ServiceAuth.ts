import { createHash } from 'node:crypto';
import type { Deadline } from '../../resilience/deadline';

/** One attempt's request as the credential sees it: the credential goes into headers or URL. */
export interface OutgoingToolRequest {
  method: string;
  url: URL;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: Buffer;
}

/** Whose call it is: what a user's OAuth connection and the credential's identity depend on. */
export interface AuthContext {
  service: string;
  tenant: string;
  endUser?: string;
  deadline: Deadline;
}

/** The credential of one call: applied to every attempt, renewed at most once after a 401. */
export interface CallCredential {
  /**
   * Names the credential (a short hash, never the credential): the breaker and the rate bucket
   * are per service and credential, so one tenant's revoked token does not open the breaker for all.
   */
  readonly id: string;
  /** Puts the credential on one attempt's request (again for each attempt: SigV4 signs each). */
  apply(request: OutgoingToolRequest): Promise<void>;
  /** After the service answered 401: fetch a fresh credential; true when one retry with it makes sense. */
  renew?(): Promise<boolean>;
}

/** One `auth` kind of the `services` config (see serviceConfig.ts). */
export interface ServiceAuth {
  forCall(context: AuthContext): CallCredential;
}

/** A short stable id for breaker and rate keys: 16 hex characters of SHA-256 over the parts. */
export function credentialIdOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}
