import type { TenantConfig } from '../config';
import type { KeyPolicy } from '../keys/keyPolicy';

/** Who is calling: the tenant, which key (by its safe display prefix), and what it may do. */
export interface Principal {
  tenant: TenantConfig;
  /** `bw_live_AbCd` or `bw_test_dem`: safe to log, never the key. */
  keyPrefix: string;
  /** Stable per-key id for per-key state (rate-limit counters): the key's SHA-256 hex. */
  keyId: string;
  /** The tenant's policy with the key's own fields laid over it. */
  policy: KeyPolicy;
}

/** A key's policy narrows its tenant's: every field it sets wins, the rest stay the tenant's. */
export function mergePolicies(tenant: KeyPolicy, key: KeyPolicy): KeyPolicy {
  const merged: Record<string, unknown> = { ...tenant };
  for (const [field, value] of Object.entries(key)) if (value !== undefined) merged[field] = value;
  return merged as KeyPolicy;
}
