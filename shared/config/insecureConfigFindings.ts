import { leaves } from '../routing/routePlan';
import type { CompiledConfig } from './compileConfig';

/**
 * Set to `true` by the stack on a production stage's functions (unless deployed with
 * allowInsecureConfig): a config fetched from AppConfig with {@link insecureConfigFindings} is refused.
 */
export const REFUSE_INSECURE_CONFIG_ENV = 'BREAKWATER_REFUSE_INSECURE_CONFIG';

/**
 * What in a routing config is fit for a laptop but not for production: `simulated` providers
 * (they fail on purpose and answer with canned text) and plain virtual keys in `tenants.*.keys`
 * (anyone who can read the bundle or the repo can call as that tenant; production keys live
 * hashed in the keys table, created with `breakwater keys create`). Each finding names where,
 * never a key's value: it ends up in deploy logs and the functions' logs.
 *
 * The same rule at synth (lib/productionConfig.ts, the bundled file) and in a production
 * function taking up a version pushed later through AppConfig (shared/config/appConfigSource.ts).
 *
 * @param raw - the config as written, already accepted by `compileConfig` (it gave `compiled`)
 */
export function insecureConfigFindings(raw: unknown, compiled: CompiledConfig): string[] {
  const findings = new Set<string>();
  const providers = (raw as { providers?: Record<string, { type?: unknown }> }).providers ?? {};
  for (const [name, provider] of Object.entries(providers)) {
    if (provider.type === 'simulated') findings.add(`providers.${name} is a simulated provider`);
  }
  // Inline targets (`{ "provider": "simulated" }`) name no entry in `providers`.
  for (const [routeName, route] of compiled.routes) {
    if (leaves(route).some((target) => target.provider.type === 'simulated')) findings.add(`routes.${routeName} sends to a simulated provider`);
  }
  for (const [name, tenant] of compiled.tenants) {
    if (tenant.keys.length > 0) findings.add(`tenants.${name}.keys holds ${tenant.keys.length} plain virtual key(s)`);
  }
  return [...findings];
}
