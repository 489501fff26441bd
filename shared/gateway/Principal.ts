import type { TenantConfig } from '../config';
import type { KeyPolicy } from '../keys/keyPolicy';

/** Who is calling: the tenant, which key (by its safe display prefix), and what it may do. */
export interface Principal {
  tenant: TenantConfig;
  /** `bw_live_AbCd` or `bw_test_`: safe to log (at least 24 characters stay unseen: see displayPrefix), never the key. */
  keyPrefix: string;
  /** Stable per-key id for per-key state (rate-limit counters): the key's SHA-256 hex. */
  keyId: string;
  /** The tenant's policy narrowed by the key's own. */
  policy: KeyPolicy;
  /** The key's own policy, for what is tracked per key (its spend caps); absent for config-file keys. */
  keyPolicy?: KeyPolicy;
}

const LIMITS = ['rpm_limit', 'tpm_limit', 'max_request_cost_usd', 'user_hourly_token_limit', 'daily_tool_calls'] as const;
const ALLOW_LISTS = ['allowed_routes', 'allowed_models', 'allowed_providers', 'allowed_services', 'allowed_methods', 'allowed_tools'] as const;
const SCREENING_STRICTNESS = { off: 0, flag: 1, block: 2 } as const;

const smaller = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);
const both = (a: readonly string[] | undefined, b: readonly string[] | undefined) =>
  a === undefined ? b : b === undefined ? a : a.filter((item) => b.includes(item));

/**
 * A key's policy can only narrow its tenant's, never widen it: the smaller of each limit, the
 * intersection of each allow-list, the stricter screening, and the permissive switches only when
 * both allow them. Credential overrides are the key's own choice of secret, set by the operator,
 * so the key's win. The daily and monthly caps stay the tenant's here: a key's own caps are
 * tracked on the key's own ledger (see reserveSpend), since they bound that key's spend.
 */
export function mergePolicies(tenant: KeyPolicy, key: KeyPolicy): KeyPolicy {
  const merged: Record<string, unknown> = { ...tenant };
  for (const field of LIMITS) merged[field] = smaller(tenant[field], key[field]);
  for (const field of ALLOW_LISTS) merged[field] = both(tenant[field], key[field]);
  const screening = [tenant.input_screening ?? 'off', key.input_screening ?? 'off'];
  merged.input_screening = screening.reduce((a, b) => (SCREENING_STRICTNESS[b] > SCREENING_STRICTNESS[a] ? b : a));
  merged.budget_fail_open = tenant.budget_fail_open === true && key.budget_fail_open !== false;
  merged.callback_allow_private = tenant.callback_allow_private === true && key.callback_allow_private !== false;
  if (tenant.credential_overrides || key.credential_overrides) {
    merged.credential_overrides = { ...tenant.credential_overrides, ...key.credential_overrides };
  }
  // A role is the operator's grant to one key (or to a tenant's config keys), not something to intersect.
  if (key.role) merged.role = key.role;
  for (const field of Object.keys(merged)) if (merged[field] === undefined) delete merged[field];
  return merged as KeyPolicy;
}
