import { existsSync, readFileSync } from 'node:fs';
import { compileConfig, configSchema } from '../shared/config/index.js';
import { leaves } from '../shared/routing/routePlan.js';

/**
 * What in a routing config is fit for a laptop but not for production: `simulated` providers
 * (they fail on purpose and answer with canned text) and plain virtual keys in `tenants.*.keys`
 * (anyone who can read the bundle or the repo can call as that tenant; production keys live
 * hashed in the keys table, created with `breakwater keys create`). Each finding names where,
 * never a key's value: this ends up in deploy logs.
 */
export function insecureConfigFindings(raw: unknown, source = 'config'): string[] {
  const compiled = compileConfig(raw, source);
  const parsed = configSchema.parse(raw);
  const findings = new Set<string>();
  for (const [name, provider] of Object.entries(parsed.providers)) {
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

/**
 * Refuses to synthesize a production stage from a config with {@link insecureConfigFindings},
 * unless the deployer said so (`-c allowInsecureConfig=true`, e.g. a load test on simulated
 * providers). A missing file is left to the bundling step, which reports it.
 */
export function assertConfigFitForProduction(path: string, allowInsecureConfig: boolean): void {
  if (allowInsecureConfig || !existsSync(path)) return;
  const findings = insecureConfigFindings(JSON.parse(readFileSync(path, 'utf8')), path);
  if (findings.length === 0) return;
  throw new Error(
    `Breakwater routing config at ${path} is not fit for a production stage:\n` +
      findings.map((finding) => `  - ${finding}\n`).join('') +
      'Use real providers and create keys with `breakwater keys create --stage <stage>`, ' +
      'or pass -c allowInsecureConfig=true to deploy it anyway.',
  );
}
