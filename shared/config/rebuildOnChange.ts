import type { CompiledConfig } from './compileConfig';
import type { ConfigSnapshot } from './appConfigSource';

/**
 * What depends on the config (the GatewayApp, its services, the handler around them) rebuilt
 * whenever the source hands out a new config, and reused while it does not. Rebuilding the
 * whole thing is the simple way to keep every part on one config: routes, tenants, budgets and
 * breakers never mix an old and a new version. Requests already running finish on the old one.
 */
export function rebuildOnChange<T>(
  source: { current(): Promise<ConfigSnapshot> },
  build: (config: CompiledConfig) => T,
): () => Promise<T> {
  let built: { config: CompiledConfig; value: T } | undefined;
  return async () => {
    const { config } = await source.current();
    if (built?.config !== config) built = { config, value: build(config) };
    return built.value;
  };
}
