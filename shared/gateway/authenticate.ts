import type { TenantConfig } from '../config';
import { GatewayError } from '../errors';
import type { Deadline } from '../resilience/deadline';
import type { KeyResolver } from '../keys/KeyResolver';
import { displayPrefix, hashKey } from '../keys/virtualKey';
import { mergePolicies, type Principal } from './Principal';

/**
 * Turns the request's virtual key into a {@link Principal}. Keys are looked up by their SHA-256
 * hash, in the key store (DynamoDB, cached per container for at most 30 s) when there is one —
 * the config file's keys are then only seeds, so revoking one works like revoking any key — or
 * else among the config file's keys in memory. A lookup's timing depends on the hash, which
 * tells an attacker nothing about a valid key.
 */
export class Authenticator {
  private readonly configKeys = new Map<string, TenantConfig>();

  constructor(
    private readonly tenants: ReadonlyMap<string, TenantConfig>,
    private readonly resolver?: KeyResolver,
  ) {
    // With a key store the config's keys are only seeds, looked up there like any other.
    if (!resolver) for (const tenant of tenants.values()) for (const key of tenant.keys) this.configKeys.set(hashKey(key), tenant);
  }

  /** @param options.deadline the request's: a key store that has not answered by it is a 503 `auth_unavailable`, as one that refused. */
  async authenticate(headers: Readonly<Record<string, string | undefined>>, options: { deadline?: Deadline } = {}): Promise<Principal> {
    const key = presentedKey(headers);
    if (!key) throw new GatewayError('invalid_api_key', 'missing API key: send `Authorization: Bearer <virtual key>`');
    if (!this.resolver) {
      // The resolver hashes on its own path; only this one needs the hash here.
      const keyId = hashKey(key);
      const tenant = this.configKeys.get(keyId);
      if (!tenant) throw new GatewayError('invalid_api_key', 'invalid API key');
      return { tenant, keyPrefix: displayPrefix(key), keyId, policy: tenant.policy };
    }

    let resolved;
    try {
      resolved = await this.resolver.resolve(key, options);
    } catch (cause) {
      // Authentication never fails open: no store, no service.
      throw new GatewayError('auth_unavailable', 'the key store cannot be reached; try again shortly', {
        cause,
        headers: { 'retry-after': '1' },
      });
    }
    const owner = resolved && this.tenants.get(resolved.tenant);
    // Never echo the key, not even a prefix: error bodies end up in agents' logs.
    if (!resolved || !owner) throw new GatewayError('invalid_api_key', 'invalid API key');
    return {
      tenant: owner,
      keyPrefix: resolved.keyPrefix,
      keyId: resolved.keyId,
      policy: mergePolicies(owner.policy, resolved.policy),
      keyPolicy: resolved.policy,
    };
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
