import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM } from 'node:crypto';
import type { DataKey } from './TokenKeyRing';

/** GCM's recommended nonce size; random per encryption (2^32 encryptions per key keep collisions negligible). */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM over a small plaintext: `base64(iv | ciphertext | tag)`. `aad` binds the
 * ciphertext to where it is stored (the item's key), so a blob copied onto another user's item
 * does not decrypt there.
 */
export function encryptToken(key: DataKey, plaintext: string, aad: string, randomBytes: (size: number) => Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv) as CipherGCM;
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64');
}

/** The plaintext; throws when the blob was altered, moved to another item or made with another key. */
export function decryptToken(key: Buffer, blob: string, aad: string): string {
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.length < IV_BYTES + TAG_BYTES) throw new Error('the encrypted token is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES)) as DecipherGCM;
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
}
