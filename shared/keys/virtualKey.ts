import { createHash, randomBytes as cryptoRandomBytes, timingSafeEqual } from 'node:crypto';

/** Every generated key starts with this, so secret scanners and humans recognise one. */
export const KEY_PREFIX = 'bw_live_';
/** 43 base62 characters carry 256 bits (62^43 > 2^256): as strong as 32 random bytes. */
export const KEY_RANDOM_CHARS = 43;
/**
 * Characters kept in the clear to tell keys apart in listings and logs: `bw_live_` plus four
 * random characters (~24 bits), which says nothing useful about the remaining 232.
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

/** The part of a key shown in listings and accepted by `revoke`. */
export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
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
 * What an operator typed: a display prefix when it is exactly that long, else the key itself,
 * which is hashed at once and never kept.
 */
export function keyRefFromInput(input: string): KeyRef {
  const value = input.trim();
  return value.length === DISPLAY_PREFIX_LENGTH ? { prefix: value } : { hash: hashKey(value) };
}
