import type { KeyPolicy } from './keyPolicy';

/** A stored virtual key. Only the hash and the display prefix of the key itself are kept. */
export interface KeyRecord {
  /** SHA-256 hex of the key. */
  hash: string;
  /** The key's first characters, e.g. `bw_live_AbCd`. */
  prefix: string;
  tenant: string;
  name?: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms; the key stops working at this instant. Stored in seconds (DynamoDB TTL). */
  expiresAt?: number;
  /** Epoch ms of the revocation; a revoked key never works again. */
  revokedAt?: number;
  policy: KeyPolicy;
}

export const KEY_STATES = { ACTIVE: 'active', EXPIRED: 'expired', REVOKED: 'revoked' } as const;
export type KeyState = (typeof KEY_STATES)[keyof typeof KEY_STATES];

/** Revocation wins over expiry; a key is expired from its `expiresAt` instant on. */
export function keyState(record: Pick<KeyRecord, 'expiresAt' | 'revokedAt'>, nowMs: number): KeyState {
  if (record.revokedAt !== undefined) return KEY_STATES.REVOKED;
  if (record.expiresAt !== undefined && nowMs >= record.expiresAt) return KEY_STATES.EXPIRED;
  return KEY_STATES.ACTIVE;
}

/** A new key with its record. `key` is the only copy of the plain key: show it once. */
export interface CreatedKey {
  key: string;
  record: KeyRecord;
}
