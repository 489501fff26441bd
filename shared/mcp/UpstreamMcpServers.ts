import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CircuitBreakers } from '../breaker/CircuitBreakers';
import { resolveBreakerConfig } from '../breaker/config';
import { GatewayError, isGatewayError } from '../errors';
import type { Clock } from '../resilience/clock';
import type { Deadline } from '../resilience/deadline';
import type { CallCredential, ServiceAuth } from '../tools/auth/ServiceAuth';
import type { McpServerConfig } from './mcpConfig';

export interface UpstreamMcpServersDeps {
  servers: ReadonlyMap<string, McpServerConfig>;
  /** The credential injector of a server (its own `auth`, or its `credentials_from` service's). */
  authFor(server: string): ServiceAuth;
  breakers: CircuitBreakers;
  clock: Clock;
  logger: { warn(message: string, attributes: Record<string, unknown>): void };
}

/** Whose call it is: a user's OAuth connection and the credential's identity depend on it. */
export interface UpstreamContext {
  tenant: string;
  endUser?: string;
  deadline: Deadline;
}

/** An MCP request to an upstream server gets this long unless its config says otherwise. */
export const DEFAULT_MCP_TIMEOUT_MS = 15_000;
/** Upstream tool lists change rarely, and a server says so (`notifications/tools/list_changed`) when they do. */
export const DEFAULT_TOOLS_CACHE_TTL_MS = 300_000;

interface Connection {
  client: Promise<Client>;
  /** The credential the next request goes out with: the call's own (its deadline, its user). */
  credential: CallCredential;
  tools?: { list: Tool[]; at: number };
}

/**
 * Breakwater as an MCP client of the configured servers: one connection per server and
 * credential per container (a Streamable HTTP session, reopened if the server forgets it), the
 * credential put on every HTTP request by the same injectors as the tool proxy's, a breaker per
 * server and credential, tool lists cached with a TTL and dropped on `tools/list_changed`.
 */
export class UpstreamMcpServers {
  private readonly connections = new Map<string, Connection>();
  /** Call credentials already renewed once after a 401 (a call's credential is renewed at most once). */
  private readonly renewed = new WeakSet<CallCredential>();

  constructor(private readonly deps: UpstreamMcpServersDeps) {}

  get names(): string[] {
    return [...this.deps.servers.keys()];
  }

  async listTools(server: string, context: UpstreamContext): Promise<Tool[]> {
    const config = this.config(server);
    const ttl = config.tools_cache_ttl_ms ?? DEFAULT_TOOLS_CACHE_TTL_MS;
    return this.guarded(server, context, async (connection, client, options) => {
      const cached = connection.tools;
      if (cached && this.deps.clock.now() - cached.at < ttl) return cached.list;
      const list: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, options);
        list.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && list.length < 1_000);
      connection.tools = { list, at: this.deps.clock.now() };
      return list;
    });
  }

  callTool(server: string, tool: string, args: Record<string, unknown>, context: UpstreamContext): Promise<CallToolResult> {
    return this.guarded(server, context, async (_connection, client, options) => {
      return (await client.callTool({ name: tool, arguments: args }, undefined, options)) as CallToolResult;
    });
  }

  /** Closes every connection (tests; a container's end needs nothing). */
  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map(async (connection) => (await connection.client.catch(() => undefined))?.close()));
  }

  /** One request through the server's breaker, on its connection, reconnecting once if the session was lost. */
  private async guarded<T>(
    server: string,
    context: UpstreamContext,
    request: (connection: Connection, client: Client, options: { timeout: number; signal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const config = this.config(server);
    // A user's connection is stored under the service the credential comes from, not the server's name.
    const service = config.credentials_from ?? server;
    const credential = this.deps.authFor(server).forCall({ service, tenant: context.tenant, endUser: context.endUser, deadline: context.deadline });
    const breakerKey = `mcp:${server}:${credential.id}`;
    const timeoutMs = Math.max(1, Math.min(config.timeout ?? DEFAULT_MCP_TIMEOUT_MS, context.deadline.remainingMs()));
    const permit = await this.deps.breakers.acquire(breakerKey, resolveBreakerConfig(config.circuit_breaker), { probeLeaseMs: timeoutMs + 1_000 });
    if (!permit.allowed) {
      const seconds = Math.max(1, Math.ceil((permit.retryAt - this.deps.clock.now()) / 1_000));
      throw new GatewayError('service_unavailable', `MCP server "${server}" is failing; its breaker is open for ${seconds} s`, {
        headers: { 'retry-after': String(seconds) },
      });
    }
    const key = `${server}#${credential.id}`;
    for (let attempt = 0; ; attempt++) {
      const connection = this.connection(server, key, config, credential, timeoutMs);
      connection.credential = credential;
      try {
        const client = await connection.client;
        const result = await request(connection, client, { timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
        await permit.report({ kind: 'success' });
        return result;
      } catch (error) {
        this.connections.delete(key);
        (await connection.client.catch(() => undefined))?.close().catch(() => undefined);
        if (isGatewayError(error)) {
          await permit.report({ kind: 'ignored' });
          throw error;
        }
        // A session the server dropped (404) or a connection that went stale: one fresh try.
        if (attempt === 0 && context.deadline.remainingMs() > 0 && !isTimeout(error)) continue;
        await permit.report({ kind: 'failure' });
        this.deps.logger.warn('MCP server call failed', { mcp_server: server, error_name: (error as Error)?.name });
        throw new GatewayError(isTimeout(error) ? 'service_timeout' : 'service_failed', `MCP server "${server}" ${isTimeout(error) ? `did not answer within ${timeoutMs} ms` : 'could not be reached'}`, {
          cause: error,
        });
      }
    }
  }

  private connection(server: string, key: string, config: McpServerConfig, credential: CallCredential, timeoutMs: number): Connection {
    let connection = this.connections.get(key);
    if (connection) return connection;
    const entry: Connection = { credential, client: Promise.resolve(undefined as never) };
    const transport = new StreamableHTTPClientTransport(new URL(config.url), {
      // Every HTTP request of the session carries the credential of the call that sends it.
      fetch: async (url, init) => {
        const call = entry.credential;
        const send = async () => {
          const headers: Record<string, string> = {};
          new Headers(init?.headers).forEach((value, name) => (headers[name.toLowerCase()] = value));
          const body = typeof init?.body === 'string' ? Buffer.from(init.body) : undefined;
          const outgoing = { method: init?.method ?? 'GET', url: new URL(String(url)), headers, body };
          await call.apply(outgoing);
          return fetch(outgoing.url, { ...init, headers: outgoing.headers, ...(body ? { body } : {}), redirect: 'manual' });
        };
        let response = await send();
        if (response.status !== 401) return response;
        await response.body?.cancel();
        // As the tool proxy does: one refresh of the credential (a user's expired token), one retry with it.
        if (call.renew && !this.renewed.has(call)) {
          this.renewed.add(call);
          if (await call.renew()) {
            response = await send();
            if (response.status !== 401) return response;
            await response.body?.cancel();
          }
        }
        // A refused credential says nothing about the server's health: not a breaker failure.
        throw new GatewayError('service_failed', `MCP server "${server}" refused its credential`);
      },
    });
    const client = new Client({ name: 'breakwater', version: '1' }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      entry.tools = undefined;
    });
    entry.client = client.connect(transport, { timeout: timeoutMs }).then(() => client);
    this.connections.set(key, entry);
    return entry;
  }

  private config(server: string): McpServerConfig {
    const config = this.deps.servers.get(server);
    if (!config) throw new GatewayError('unknown_service', `no MCP server named "${server}"`);
    return config;
  }
}

const isTimeout = (error: unknown) => {
  const { name, code } = error as { name?: string; code?: unknown };
  return name === 'TimeoutError' || name === 'AbortError' || code === -32001;
};
