import { GatewayError } from '../errors';
import type { KeyPolicy } from '../keys/keyPolicy';
import { firstMatchingPattern } from './pathPattern';

/** What the policy check needs of a call. */
export interface PolicyCheckInput {
  service: string;
  method: string;
  /** Decoded path segments under the service (see checkToolPath). */
  segments: readonly string[];
}

const deny = (message: string): never => {
  throw new GatewayError('tool_not_allowed', message);
};

/**
 * Least privilege for the tool proxy, checked before anything is called:
 * - `allowed_services`: the services the key may call (absent: every configured service);
 * - `allowed_methods`: the methods it may use anywhere (`["GET", "HEAD"]` is a read-only key);
 * - `service_permissions.<service>`: that service's methods and path patterns. A service without
 *   an entry is governed by the two lists above only.
 *
 * Each policy passed must allow the call (the tenant's policy merged with the key's, then the
 * key's own, whose `service_permissions` the merge does not carry). Returns the path pattern
 * that allowed the call, if one did: the audit line's path template.
 * @throws GatewayError 403 `tool_not_allowed`
 */
export function checkToolPolicy(policies: ReadonlyArray<KeyPolicy | undefined>, call: PolicyCheckInput): string | undefined {
  let template: string | undefined;
  for (const policy of policies) {
    if (!policy) continue;
    const matched = checkOne(policy, call);
    template ??= matched;
  }
  return template;
}

function checkOne(policy: KeyPolicy, { service, method, segments }: PolicyCheckInput): string | undefined {
  if (policy.allowed_services && !policy.allowed_services.includes(service)) {
    deny(`this key may not call service "${service}"`);
  }
  if (policy.allowed_methods && !policy.allowed_methods.includes(method)) {
    deny(`this key may not use ${method} on tools (allowed: ${policy.allowed_methods.join(', ') || 'none'})`);
  }
  const permission = policy.service_permissions?.[service];
  if (!permission) return undefined;
  if (permission.methods && !permission.methods.includes(method as never)) {
    deny(`this key may not use ${method} on service "${service}"`);
  }
  if (!permission.paths) return undefined;
  const matched = firstMatchingPattern(permission.paths, segments);
  if (matched === undefined) deny(`this key may not call this path on service "${service}"`);
  return matched;
}
