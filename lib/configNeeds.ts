import { existsSync, readFileSync } from 'node:fs';
import { compileConfig, configSchema } from '../shared/config/index.js';
import { leaves } from '../shared/routing/routePlan.js';

/** What the routing config asks of the infrastructure: secrets to create, Bedrock access. */
export interface ConfigNeeds {
  /**
   * Secret names (without the deployment prefix), sorted: every configured provider's
   * `credential`, Portkey-inline targets' credentials (their type when unnamed) and tenants'
   * own keys (`credential_overrides`). Bedrock and simulated providers have none.
   */
  readonly credentials: readonly string[];
  /** True when any provider, named or inline, is `bedrock`: the functions need bedrock:InvokeModel. */
  readonly bedrock: boolean;
  /** Tenants named in the config, sorted (each gets a callback signing secret). */
  readonly tenants: readonly string[];
  /** True when a tool service connects on behalf of users (`oauth_user`): the token data key secret is needed. */
  readonly userConnections: boolean;
}

export const NO_CONFIG_NEEDS: ConfigNeeds = { credentials: [], bedrock: false, tenants: [], userConnections: false };

/**
 * Reads what the stack must provide from a parsed config. The config is compiled with the same
 * code the gateway runs at cold start, so a config that would fail there fails synthesis here,
 * and an inline target's credential is derived exactly as the gateway derives it.
 */
export function configNeeds(raw: unknown, source = 'config'): ConfigNeeds {
  const compiled = compileConfig(raw, source);
  const parsed = configSchema.parse(raw);
  const credentials = new Set(compiled.credentialNames);
  let bedrock = false;
  for (const provider of Object.values(parsed.providers)) {
    if (provider.type === 'bedrock') bedrock = true;
    else if (provider.type !== 'simulated' && provider.credential) credentials.add(provider.credential);
  }
  for (const route of compiled.routes.values()) {
    if (leaves(route).some((target) => target.provider.type === 'bedrock')) bedrock = true;
  }
  // Tool services' and MCP servers' credentials are secrets like providers' (SigV4 needs none).
  let userConnections = false;
  for (const { auth } of [...compiled.services.values(), ...compiled.mcpServers.values()]) {
    if ('secret' in auth) credentials.add(auth.secret);
    if (auth.type === 'oauth_user') userConnections = true;
  }
  return {
    credentials: [...credentials].sort(),
    bedrock,
    tenants: [...compiled.tenants.keys()].sort(),
    userConnections,
  };
}

/**
 * {@link configNeeds} of the config file at `path`, or {@link NO_CONFIG_NEEDS} when there is
 * no file yet (tests that skip bundling synthesize without one; a real synth has already
 * refused to go on without it).
 */
export function readConfigNeeds(path: string): ConfigNeeds {
  if (!existsSync(path)) return NO_CONFIG_NEEDS;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`Breakwater routing config at ${path} is not valid JSON: ${(cause as Error).message}`);
  }
  return configNeeds(raw, path);
}
