import { createHash } from 'node:crypto';

/** RFC 7636: a high-entropy verifier kept by Breakwater and its S256 challenge sent with the authorize URL. */
export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** 32 random bytes give a 43-character verifier, RFC 7636's minimum length and its recommendation. */
export function createPkcePair(randomBytes: (size: number) => Buffer): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: pkceChallenge(verifier) };
}

export const pkceChallenge = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');
