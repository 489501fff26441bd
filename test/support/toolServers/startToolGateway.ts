import { startApiGatewayServer, type RunningServer } from '../../../bin/local/apiGatewayServer';
import { installAwsLambdaGlobal } from '../../../bin/local/lambdaStreaming';
import { createGatewayHandler } from '../../../functions/gateway/createHandler';
import { compileConfig, type BreakwaterConfigInput } from '../../../shared/config';
import type { SecretSource } from '../../../shared/credentials';
import type { GatewayServices } from '../../../shared/gateway';
import type { Clock, RandomSource } from '../../../shared/resilience';
import { capturingLogger, type CapturedLogs } from '../capturingLogger';

/** Virtual keys of the tool tests' tenant: one with every permission, one read-only, one narrowed. */
export const TOOL_KEYS = {
  FULL: 'bw_test_tools_full_key_0000000000001',
  READ_ONLY: 'bw_test_tools_read_key_000000000001',
  OTHER: 'bw_test_tools_other_key_00000000001',
} as const;

export interface ToolGateway {
  gateway: RunningServer;
  logs: CapturedLogs;
  /** Calls `/v1/tools/<path>` on the gateway with the full key (unless headers say otherwise). */
  call(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The real gateway handler behind the real local server, with `services` (the tool config) and
 * fake secrets; every log line captured, so the audit line can be read back.
 */
export async function startToolGateway(options: {
  services: Record<string, unknown>;
  secrets: SecretSource;
  stateServices?: GatewayServices;
  clock?: Clock;
  random?: RandomSource;
  tenants?: BreakwaterConfigInput['tenants'];
}): Promise<ToolGateway> {
  installAwsLambdaGlobal();
  const logs = capturingLogger({ logLevel: 'INFO' });
  const config = compileConfig({
    providers: { sim: { type: 'simulated' } },
    routes: { main: { strategy: { mode: 'single' }, targets: [{ provider: 'sim' }] } },
    services: options.services,
    tenants: options.tenants ?? {
      tools: { route: 'main', keys: [TOOL_KEYS.FULL] },
      readers: { route: 'main', keys: [TOOL_KEYS.READ_ONLY], allowed_methods: ['GET', 'HEAD'] },
      narrow: {
        route: 'main',
        keys: [TOOL_KEYS.OTHER],
        allowed_services: ['apikey'],
        service_permissions: { apikey: { methods: ['GET'], paths: ['/v1/customers/*'] } },
      },
    },
    settings: { retry_budget: { ratio: 1, min_retries_per_window: 1_000, window_ms: 10_000 } },
  } as BreakwaterConfigInput);
  const handler = createGatewayHandler({
    config,
    secrets: options.secrets,
    services: options.stateServices,
    clock: options.clock,
    random: options.random ?? (() => 0),
    logger: logs.logger,
  });
  const gateway = await startApiGatewayServer({ handler, port: 0 });
  return {
    gateway,
    logs,
    call: (path, init = {}) => {
      const { key = TOOL_KEYS.FULL, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
      return fetch(`${gateway.url}/v1/tools/${path}`, { ...rest, headers });
    },
    close: () => gateway.close(),
  };
}
