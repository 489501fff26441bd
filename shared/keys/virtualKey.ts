import { createHash, randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';

/** Every generated key starts with this, so secret scanners and humans recognise one. */
export const KEY_PREFIX = 'bw_live_';
/** 43 base62 characters carry 256 bits (62^43 > 2^256): as strong as 32 random bytes. */
export const KEY_RANDOM_CHARS = 43;
/**
 * The shortest virtual key accepted anywhere (config `tenants.*.keys`, the key store, a
 * request): a display prefix is shown and at least {@link HIDDEN_KEY_CHARS} characters stay secret.
 */
export const MIN_KEY_LENGTH = 32;
/**
 * Characters of a key never shown: not in logs, audit lines, listings or the key store. 24
 * random base62 characters carry 142 bits (24 × log2 62), so a key whose characters after its
 * display prefix are random base62 (or base64) keeps at least 128 bits secret. Generated keys
 * keep 39 random characters (232 bits) hidden.
 */
export const HIDDEN_KEY_CHARS = 24;
/**
 * At most this many characters are shown to tell keys apart: a generated key shows `bw_live_`
 * plus four random characters (~24 bits, which say nothing useful about the other 232).
 */
export const DISPLAY_PREFIX_LENGTH = 12;

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 248 = 4 × 62: bytes from 248 up are dropped, so every character is equally likely. */
const UNBIASED_BYTE_LIMIT = 256 - (256 % BASE62_ALPHABET.length);

/** Cryptographically secure random bytes; injected so tests can script them. */
export type RandomBytes = (size: number) => Uint8Array;

export const systemRandomBytes: RandomBytes = (size) => cryptoRandomBytes(size);

/**
 * `length` uniformly random base62 characters by rejection sampling: `byte % 62` alone would
 * make the first eight characters likelier than the rest.
 */
export function randomBase62(length: number, randomBytes: RandomBytes = systemRandomBytes): string {
  let out = '';
  while (out.length < length) {
    // ~3% of bytes are rejected; ask for a little more than needed to rarely loop.
    for (const byte of randomBytes(Math.ceil((length - out.length) * 1.1) + 2)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      out += BASE62_ALPHABET[byte % BASE62_ALPHABET.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new virtual key: `bw_live_` + 43 random base62 characters (256 bits). */
export function generateVirtualKey(randomBytes: RandomBytes = systemRandomBytes): string {
  return KEY_PREFIX + randomBase62(KEY_RANDOM_CHARS, randomBytes);
}

/** SHA-256 hex of a key: the only form a key is stored or cached in. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The part of a key shown in listings, logs and audit lines, and accepted by `revoke`: its
 * first min(12, length − 24) characters, so at least {@link HIDDEN_KEY_CHARS} stay unseen. A
 * 32-character key shows 8 (`bw_test_`), a generated 51-character key 12 (`bw_live_AbCd`).
 */
export function displayPrefix(key: string): string {
  return key.slice(0, Math.max(0, Math.min(DISPLAY_PREFIX_LENGTH, key.length - HIDDEN_KEY_CHARS)));
}

/** Why a string cannot be a virtual key, or undefined when it can (config, the key store). */
export function virtualKeyProblem(key: string): string | undefined {
  if (key.length < MIN_KEY_LENGTH) return `virtual keys are at least ${MIN_KEY_LENGTH} characters`;
  if (key.trim() !== key) return 'virtual keys have no leading or trailing whitespace';
  return undefined;
}

/** Constant-time equality of two hex hashes (false when the lengths differ). */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** A stored key named by its hash, or by its display prefix (which may be ambiguous). */
export type KeyRef = { hash: string } | { prefix: string };

/**
 * What an operator typed: a display prefix when it is shorter than any key, else the key
 * itself, which is hashed at once and never kept.
 */
export function keyRefFromInput(input: string): KeyRef {
  const value = input.trim();
  return value.length < MIN_KEY_LENGTH ? { prefix: value } : { hash: hashKey(value) };
}
