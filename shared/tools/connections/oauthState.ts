import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../../errors';
import type { ConnectionRef } from '../types';
import type { TokenKeyRing } from './TokenKeyRing';

/** What the signed `state` of a connect carries; the PKCE verifier stays in the store, under `nonce`. */
export interface OAuthState extends ConnectionRef {
  /** Names the pending connect in the store; claimed once, so a replayed state fails. */
  nonce: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** A state is a few hundred bytes; anything much longer is not one of ours and is not parsed. */
const MAX_STATE_LENGTH = 2_048;

/** The states are signed with a key derived from the data key, never with the data key itself. */
function signingKey(dataKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), 'breakwater/oauth-state/v1', 32));
}

const mac = (key: Buffer, payload: string) => createHmac('sha256', signingKey(key)).update(payload, 'ascii').digest();

/** `base64url(JSON) . base64url(HMAC-SHA256)`, signed with the ring's current key (named inside, for rotation). */
export function signState(state: OAuthState, ring: TokenKeyRing): string {
  const payload = Buffer.from(
    JSON.stringify({ v: 1, k: ring.current.id, t: state.tenant, u: state.user, s: state.service, n: state.nonce, e: state.expiresAt }),
  ).toString('base64url');
  return `${payload}.${mac(ring.current.key, payload).toString('base64url')}`;
}

/**
 * The state's content once its signature and expiry hold; a 400 `invalid_request` (param
 * `state`) otherwise, with `reason` saying which, and nothing about what a valid one looks like.
 */
export function verifyState(raw: string | undefined, ring: TokenKeyRing, now: number): OAuthState {
  const refuse = (reason: 'missing' | 'invalid' | 'expired', message: string) =>
    new GatewayError('invalid_request', message, { details: { param: 'state', reason } });
  if (!raw) throw refuse('missing', 'the callback has no `state`: start again with POST /v1/connections/{service}');
  const parts = raw.length <= MAX_STATE_LENGTH ? raw.split('.') : [];
  if (parts.length !== 2) throw refuse('invalid', 'the `state` is not one Breakwater issued');
  const [payload, signature] = parts as [string, string];
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw refuse('invalid', 'the `state` is not one Breakwater issued');
  }
  const key = typeof claims.k === 'string' ? ring.key(claims.k) : undefined;
  const given = Buffer.from(signature, 'base64url');
  const expected = key ? mac(key, payload) : undefined;
  if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw refuse('invalid', 'the `state` is not one Breakwater issued (bad signature)');
  }
  const { t, u, s, n, e } = claims;
  if (typeof t !== 'string' || typeof u !== 'string' || typeof s !== 'string' || typeof n !== 'string' || typeof e !== 'number') {
    throw refuse('invalid', 'the `state` is not one Breakwater issued');
  }
  if (e <= now) throw refuse('expired', 'the `state` has expired: start again with POST /v1/connections/{service}');
  return { tenant: t, user: u, service: s, nonce: n, expiresAt: e };
}
