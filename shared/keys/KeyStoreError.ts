export const KEY_STORE_ERRORS = {
  /** No key matches the hash or prefix. */
  NOT_FOUND: 'not_found',
  /** Several usable keys share the display prefix: name the key itself. */
  AMBIGUOUS_PREFIX: 'ambiguous_prefix',
  /** Rotating a key that is revoked or expired. */
  NOT_ACTIVE: 'not_active',
  /** A generated key collided with a stored one (astronomically unlikely; retry). */
  ALREADY_EXISTS: 'already_exists',
  /** A stored item that does not parse (edited by hand): refused, never guessed at. */
  INVALID_RECORD: 'invalid_record',
} as const;
export type KeyStoreErrorCode = (typeof KEY_STORE_ERRORS)[keyof typeof KEY_STORE_ERRORS];

/** An operator-facing failure of a key store operation. Messages never contain a key or hash. */
export class KeyStoreError extends Error {
  readonly isKeyStoreError = true;
  constructor(
    readonly code: KeyStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KeyStoreError';
  }
}

export const isKeyStoreError = (error: unknown): error is KeyStoreError =>
  typeof error === 'object' && error !== null && (error as { isKeyStoreError?: unknown }).isKeyStoreError === true;
