import { createHash } from 'node:crypto';
import type { TenantConfig } from '../config';
import { GatewayError } from '../errors';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * Virtual keys are looked up by their SHA-256 hash: the plain key is never kept in a map, and a
 * lookup's timing depends on the hash, which tells an attacker nothing about a valid key.
 */
export class KeyIndex {
  private readonly byHash = new Map<string, TenantConfig>();

  constructor(tenants: Iterable<TenantConfig>) {
    for (const tenant of tenants) for (const key of tenant.keys) this.byHash.set(sha256(key), tenant);
  }

  /** The tenant that owns the request's key (`Authorization: Bearer` or `x-api-key`), or a 401. */
  authenticate(headers: Readonly<Record<string, string | undefined>>): TenantConfig {
    const key = presentedKey(headers);
    if (!key) throw new GatewayError('invalid_api_key', 'missing API key: send `Authorization: Bearer <virtual key>`');
    const tenant = this.byHash.get(sha256(key));
    // Never echo the key, not even a prefix: error bodies end up in agents' logs.
    if (!tenant) throw new GatewayError('invalid_api_key', 'invalid API key');
    return tenant;
  }
}

function presentedKey(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = /^bearer\s+(.+)$/i.exec(authorization);
    return match?.[1]?.trim();
  }
  return headers['x-api-key']?.trim() || undefined;
}
