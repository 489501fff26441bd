import { CircuitBreakers } from '../breaker/CircuitBreakers';
import { MemoryBreakerStore } from '../breaker/MemoryBreakerStore';
import type { CompiledConfig } from '../config';
import type { SecretSource } from '../credentials/SecretSource';
import { GatewayError } from '../errors';
import type { GatewayServices } from '../gateway/GatewayServices';
import type { Clock } from '../resilience/clock';
import { createServiceAuth } from '../tools/auth/createServiceAuth';
import type { ServiceAuth } from '../tools/auth/ServiceAuth';
import type { ToolProxy } from '../tools/ToolProxy';
import type { ApprovalGate } from '../tools/types';
import { McpGateway, type McpGatewayDeps } from './McpGateway';
import { UpstreamMcpServers } from './UpstreamMcpServers';

export interface CreateMcpGatewayInput {
  config: CompiledConfig;
  services: GatewayServices;
  tools: ToolProxy;
  approvals?: ApprovalGate;
  secrets: SecretSource;
  clock: Clock;
  logger: McpGatewayDeps['logger'];
}

/**
 * The MCP door's engine with its upstream servers. Each server's credential injector is built on
 * its first use: its own `auth`, or that of the service it takes `credentials_from` (under the
 * service's name, so a user's connection to that service is the one used).
 */
export function createMcpGateway(input: CreateMcpGatewayInput): McpGateway {
  const { config, services, clock, logger } = input;
  const authDeps = { secrets: input.secrets, clock, userTokens: services.connections?.tokens };
  const auths = new Map<string, ServiceAuth>();
  const authFor = (server: string): ServiceAuth => {
    let auth = auths.get(server);
    if (!auth) {
      const { credentials_from: from, auth: own } = config.mcpServers.get(server)!;
      const service = from === undefined ? undefined : config.services.get(from);
      if (from !== undefined && !service) {
        throw new GatewayError('unknown_service', `MCP server "${server}" takes its credential from "${from}", which is not a configured service`);
      }
      auth = from !== undefined ? createServiceAuth(from, service!.auth, authDeps) : createServiceAuth(server, own, authDeps);
      auths.set(server, auth);
    }
    return auth;
  };
  return new McpGateway({
    config,
    tools: input.tools,
    upstream: new UpstreamMcpServers({
      servers: config.mcpServers,
      authFor,
      breakers: services.breakers ?? new CircuitBreakers({ store: new MemoryBreakerStore(), clock, logger }),
      clock,
      logger,
    }),
    loopGuard: services.loopGuard,
    rateLimiter: services.rateLimiter,
    approvals: input.approvals,
    toolQuota: services.toolQuota,
    clock,
    logger,
  });
}
