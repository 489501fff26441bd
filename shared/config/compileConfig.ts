import { readFile } from 'node:fs/promises';
import { DEFAULT_BREAKER_CONFIG, resolveBreakerConfig, type ResolvedBreakerConfig } from '../breaker/config';
import type { CacheConfig } from '../cache/cacheConfig';
import type { KeyPolicy } from '../keys/keyPolicy';
import { RETRYABLE_STATUSES } from '../resilience/classify';
import { leaves, type GroupNode, type ResolvedRetry, type RouteNode, type TargetNode } from '../routing/routePlan';
import type { McpServerConfig } from '../mcp/mcpConfig';
import type { ServiceConfig } from '../tools/serviceConfig';
import { ConfigError, formatPath, type ConfigIssue } from './ConfigError';
import { readParsedConfig } from './parsedConfig';
import {
  configSchema,
  PROVIDER_TYPES,
  providerSchema,
  type BreakwaterConfig,
  type ProviderConfig,
  type ProviderType,
  type RetryConfig,
  type TargetConfig,
} from './schema';

export type Settings = BreakwaterConfig['settings'];

export interface TenantConfig {
  name: string;
  route: string;
  allowedRoutes: ReadonlySet<string>;
  keys: readonly string[];
  /** Limits, budgets, screening and allow-lists; a key's own policy narrows it. */
  policy: KeyPolicy;
}

/** Settings that belong to a route as a whole rather than to its targets. */
export interface RouteOptions {
  cache?: CacheConfig;
  /** What a stream cut after its first byte does. @default 'error' */
  streamRecovery: 'error' | 'continue';
}

/** The config after validation, defaults and inheritance: what the engine runs on. */
export interface CompiledConfig {
  routes: ReadonlyMap<string, RouteNode>;
  routeOptions: ReadonlyMap<string, RouteOptions>;
  tenants: ReadonlyMap<string, TenantConfig>;
  prices: BreakwaterConfig['prices'];
  settings: Settings;
  /** Tool proxy services by name, as validated (defaults applied). */
  services: ReadonlyMap<string, ServiceConfig>;
  /** Remote MCP servers by name (their tools are `<name>__<tool>` on `/mcp`). */
  mcpServers: ReadonlyMap<string, McpServerConfig>;
  /** Every secret the config names (providers' credentials, tenants' own keys): prefetched at cold start. */
  credentialNames: readonly string[];
}

/** Used where the config says nothing; chosen for an LLM API behind API Gateway's 29 s limit. */
export const DEFAULT_RETRY: ResolvedRetry = {
  attempts: 2,
  retryOn: RETRYABLE_STATUSES,
  useRetryAfterHeader: true,
  // 250 ms doubles to a 4 s ceiling: three tries fit well inside a 27 s deadline.
  backoff: { mode: 'full', baseMs: 250, capMs: 4_000 },
  // Past 20 s a wait costs more than asking the next target.
  maxRetryAfterMs: 20_000,
};
/** LLM answers can take long; 20 s leaves room for one fallback inside the 27 s deadline. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000;
/**
 * Once tokens flow, a healthy upstream sends something at least every few seconds (Anthropic
 * pings every ~10 s while it thinks); 30 s of silence is a stalled stream.
 */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 30_000;
/** Without `on_status_codes`, a group falls back on throttling, timeouts and every 5xx. */
export const DEFAULT_FALLBACK_STATUSES: ReadonlySet<number> = new Set([
  408, 425, 429, ...Array.from({ length: 100 }, (_, i) => 500 + i),
]);

function resolveRetry(config: RetryConfig | undefined, inherited: ResolvedRetry): ResolvedRetry {
  if (!config) return inherited;
  return {
    attempts: config.attempts,
    retryOn: config.on_status_codes ? new Set(config.on_status_codes) : inherited.retryOn,
    useRetryAfterHeader: config.use_retry_after_header ?? inherited.useRetryAfterHeader,
    backoff: {
      mode: config.backoff ?? inherited.backoff.mode,
      baseMs: config.base_delay_ms ?? inherited.backoff.baseMs,
      capMs: config.max_delay_ms ?? inherited.backoff.capMs,
    },
    maxRetryAfterMs: config.max_retry_after_ms ?? inherited.maxRetryAfterMs,
  };
}

interface Inherited {
  retry: ResolvedRetry;
  requestTimeoutMs: number;
  /** Undefined: the attempt's own request timeout. */
  streamFirstTokenTimeoutMs?: number;
  streamIdleTimeoutMs: number;
  fallbackOn: ReadonlySet<number>;
  breaker: ResolvedBreakerConfig;
}

class RouteCompiler {
  readonly issues: ConfigIssue[] = [];
  constructor(private readonly providers: Readonly<Record<string, ProviderConfig>>) {}

  compile(target: TargetConfig, path: Array<string | number>, inherited: Inherited): RouteNode | undefined {
    const here: Inherited = {
      retry: resolveRetry(target.retry, inherited.retry),
      requestTimeoutMs: target.request_timeout ?? inherited.requestTimeoutMs,
      streamFirstTokenTimeoutMs: target.stream_first_token_timeout ?? inherited.streamFirstTokenTimeoutMs,
      streamIdleTimeoutMs: target.stream_idle_timeout ?? inherited.streamIdleTimeoutMs,
      fallbackOn: target.strategy?.on_status_codes ? new Set(target.strategy.on_status_codes) : inherited.fallbackOn,
      breaker: resolveBreakerConfig(target.circuit_breaker, inherited.breaker),
    };
    for (const field of ['cache', 'stream_recovery'] as const) {
      if (target[field] !== undefined && path.length > 2) {
        this.issues.push({ path: formatPath([...path, field]), message: `${field} is set on the route itself, not on a nested target` });
      }
    }
    const weight = target.weight ?? 1;

    if (target.targets) {
      const children = target.targets
        .map((child, index) => this.compile(child, [...path, 'targets', index], here))
        .filter((child): child is RouteNode => child !== undefined);
      const group: GroupNode = {
        kind: 'group',
        path: formatPath(path),
        mode: target.strategy?.mode ?? 'fallback',
        fallbackOn: here.fallbackOn,
        children,
        weight,
      };
      if (group.mode === 'loadbalance' && target.targets.every((child) => (child.weight ?? 1) === 0)) {
        this.issues.push({ path: formatPath([...path, 'targets']), message: 'loadbalance needs at least one target with weight > 0' });
      }
      return group;
    }

    const resolved = this.resolveProvider(target, path);
    if (!resolved) return undefined;
    const model = target.override_params?.model;
    if (model !== undefined && typeof model !== 'string') {
      this.issues.push({ path: formatPath([...path, 'override_params', 'model']), message: 'must be a string' });
    }
    const leaf: TargetNode = {
      kind: 'target',
      path: formatPath(path),
      providerName: resolved.name,
      provider: resolved.config,
      model: typeof model === 'string' ? model : undefined,
      overrideParams: target.override_params ?? {},
      retry: here.retry,
      requestTimeoutMs: here.requestTimeoutMs,
      stream: {
        firstTokenTimeoutMs: here.streamFirstTokenTimeoutMs ?? here.requestTimeoutMs,
        idleTimeoutMs: here.streamIdleTimeoutMs,
      },
      breaker: here.breaker,
      weight,
    };
    return leaf;
  }

  /** A named provider, or a Portkey-style inline one (`provider` is a type, `custom_host` its URL). */
  private resolveProvider(target: TargetConfig, path: Array<string | number>) {
    const name = target.provider!;
    const named = this.providers[name];
    if (named) {
      if (target.custom_host || target.credential) {
        this.issues.push({
          path: formatPath([...path, target.custom_host ? 'custom_host' : 'credential']),
          message: `only inline targets take this; set it on provider "${name}" instead`,
        });
      }
      return { name, config: named };
    }
    if ((PROVIDER_TYPES as readonly string[]).includes(name)) {
      const inline = providerSchema.safeParse({
        type: name as ProviderType,
        ...(target.custom_host ? (name === 'bedrock' ? { endpoint: target.custom_host } : { base_url: target.custom_host }) : {}),
        // Bedrock signs with the function's role and simulated needs nothing: no secret for them.
        ...(name !== 'simulated' && name !== 'bedrock' ? { credential: target.credential ?? name } : {}),
      });
      if (inline.success) return { name, config: inline.data };
    }
    const known = Object.keys(this.providers);
    this.issues.push({
      path: formatPath([...path, 'provider']),
      message: `unknown provider "${name}"; expected one of the configured providers (${known.join(', ') || 'none'}) or a provider type (${PROVIDER_TYPES.join(', ')})`,
    });
    return undefined;
  }
}

/** Validates a parsed config file and compiles its routes; throws {@link ConfigError} naming every bad field. */
export function compileConfig(raw: unknown, source = 'config'): CompiledConfig {
  return compileValidatedConfig(validateConfig(raw, source), source);
}

/** The config file's content checked against the schema, defaults applied; throws {@link ConfigError} naming every bad field. */
export function validateConfig(raw: unknown, source = 'config'): BreakwaterConfig {
  // Jitless: zod's fast path compiles a parser (`new Function`) per object schema on its first
  // parse, which pays off only on repeated parses; a config is parsed once per cold start, where
  // the compiling costs ~5 ms of CPU (`npm run bench:cold`).
  const parsed = configSchema.safeParse(raw, { jitless: true });
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
      source,
    );
  }
  return parsed.data;
}

/**
 * Compiles a config the schema already validated (its output, as {@link validateConfig} returns
 * it): the checks across fields (known routes and providers, unique keys) and the inheritance.
 */
export function compileValidatedConfig(config: BreakwaterConfig, source = 'config'): CompiledConfig {
  const compiler = new RouteCompiler(config.providers);
  const root: Inherited = {
    retry: DEFAULT_RETRY,
    requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    streamIdleTimeoutMs: DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    fallbackOn: DEFAULT_FALLBACK_STATUSES,
    breaker: DEFAULT_BREAKER_CONFIG,
  };

  const routes = new Map<string, RouteNode>();
  const routeOptions = new Map<string, RouteOptions>();
  for (const [name, route] of Object.entries(config.routes)) {
    const node = compiler.compile(route, ['routes', name], root);
    if (node) routes.set(name, node);
    routeOptions.set(name, { cache: route.cache, streamRecovery: route.stream_recovery ?? 'error' });
  }

  const issues = compiler.issues;
  const tenants = new Map<string, TenantConfig>();
  const keyOwners = new Map<string, string>();
  for (const [name, tenant] of Object.entries(config.tenants)) {
    if (!config.routes[tenant.route]) {
      issues.push({ path: `tenants.${name}.route`, message: `unknown route "${tenant.route}"` });
    }
    tenant.keys.forEach((key, index) => {
      const owner = keyOwners.get(key);
      if (owner) issues.push({ path: `tenants.${name}.keys[${index}]`, message: `key already belongs to tenant "${owner}"` });
      keyOwners.set(key, name);
    });
    (tenant.allowed_routes ?? []).forEach((route, index) => {
      if (!config.routes[route]) issues.push({ path: `tenants.${name}.allowed_routes[${index}]`, message: `unknown route "${route}"` });
    });
    const allowedRoutes = new Set([tenant.route, ...(tenant.allowed_routes ?? [])]);
    const { route: _route, keys, ...policy } = tenant;
    tenants.set(name, { name, route: tenant.route, allowedRoutes, keys, policy });
  }
  if (issues.length > 0) throw new ConfigError(issues, source);
  const credentialNames = new Set<string>();
  for (const route of routes.values()) {
    for (const target of leaves(route)) if ('credential' in target.provider && target.provider.credential) credentialNames.add(target.provider.credential);
  }
  for (const tenant of tenants.values()) for (const name of Object.values(tenant.policy.credential_overrides ?? {})) credentialNames.add(name);
  const services = new Map(Object.entries(config.services));
  const mcpServers = new Map(Object.entries(config.mcp_servers));
  return { routes, routeOptions, tenants, services, mcpServers, prices: config.prices, settings: config.settings, credentialNames: [...credentialNames] };
}

export async function loadConfigFile(path: string): Promise<CompiledConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(cause as Error).message}` }], path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError([{ path: '', message: `not valid JSON: ${(cause as Error).message}` }], path);
  }
  // Validated at synth when the bundling step wrote its parsed form beside it (see parsedConfig.ts).
  const validated = await readParsedConfig(path, text);
  return validated ? compileValidatedConfig(validated, path) : compileConfig(raw, path);
}
