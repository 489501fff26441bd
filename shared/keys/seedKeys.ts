import type { KeyStore } from './DynamoKeyStore';

/** The part of a config-file tenant seeding needs (a compiled `TenantConfig` fits). */
export interface SeedTenant {
  name: string;
  keys: readonly string[];
}

export interface SeedResult {
  inserted: number;
  /** Already stored, possibly revoked since: seeding never overwrites, so never un-revokes. */
  existing: number;
}

/**
 * Copies the config file's plain keys into the key store (hashed) for local use, so the demo
 * key works through the same look-up as a created one. Idempotent: a conditional put per key.
 * The seeded keys carry an empty policy: their tenant's settings apply unchanged.
 */
export async function seedKeys(store: Pick<KeyStore, 'insert'>, tenants: Iterable<SeedTenant>): Promise<SeedResult> {
  const result: SeedResult = { inserted: 0, existing: 0 };
  for (const tenant of tenants) {
    for (const key of tenant.keys) {
      if (await store.insert(key, { tenant: tenant.name, name: 'config file' })) result.inserted += 1;
      else result.existing += 1;
    }
  }
  return result;
}
