import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { CompiledConfig } from '../config';
import { GatewayError, isGatewayError } from '../errors';
import type { Principal } from '../gateway/Principal';
import type { FleetRateLimiter } from '../ratelimit/FleetRateLimiter';
import type { Clock } from '../resilience/clock';
import type { Deadline } from '../resilience/deadline';
import { screenInput } from '../security';
import { DEFAULT_LOOP_DETECTION } from '../tools/limits/DynamoLoopGuard';
import type { ToolCallQuota } from '../tools/quota';
import type { ToolProxy } from '../tools/ToolProxy';
import type { ApprovalGate, HeldCall, LoopGuard, ToolCall, ToolCallExecutor, ToolCaller, ToolPriority, ToolResponse } from '../tools/types';
import { mcpHighStakesRule, mcpToolCall, mcpToolTarget } from './mcpToolCall';
import type { RestToolConfig } from './restToolConfig';
import { restToolCall } from './restToolCall';
import { namespaced, splitToolName, toolAllowed } from './toolNames';
import type { UpstreamMcpServers } from './UpstreamMcpServers';

export interface McpGatewayDeps {
  config: CompiledConfig;
  /** REST tools run through the tool proxy: policy, approvals, credential, limits, retries. */
  tools: ToolProxy;
  upstream: UpstreamMcpServers;
  loopGuard?: LoopGuard;
  rateLimiter?: FleetRateLimiter;
  /** Holds calls to an upstream server's `high_stakes_tools`; without it such calls are refused, never run. */
  approvals?: ApprovalGate;
  /** `daily_tool_calls` (a REST tool's call is counted by the tool proxy). */
  toolQuota?: ToolCallQuota;
  clock: Clock;
  logger: {
    info(message: string, attributes: Record<string, unknown>): void;
    warn(message: string, attributes: Record<string, unknown>): void;
  };
}

/** Who is asking, and for whom. */
export interface McpCaller {
  principal: Principal;
  endUser?: string;
  priority: ToolPriority;
  deadline: Deadline;
}

/** A tool result's text is capped: an agent's context is not the place for megabytes. */
export const MAX_RESULT_TEXT_BYTES = 1024 * 1024;

/**
 * `/mcp`: one MCP server in front of every tool a key may use, stateless (a new protocol server
 * per HTTP request, JSON responses), so any Lambda container answers any request. `tools/list`
 * merges the REST services' tools and the upstream servers' (namespaced), filtered by the key's
 * `allowed_tools` and screened; `tools/call` checks the same policy again before anything runs.
 */
export class McpGateway implements ToolCallExecutor {
  constructor(private readonly deps: McpGatewayDeps) {}

  async handle(request: Request, caller: McpCaller): Promise<Response> {
    const server = new Server({ name: 'breakwater', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: await this.list(caller) }));
    server.setRequestHandler(CallToolRequestSchema, async (call) => this.call(call.params.name, call.params.arguments ?? {}, caller));
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request);
    } finally {
      await server.close();
    }
  }

  /** Every tool this key may see: REST tools of the services it may call, then each upstream server's. */
  private async list(caller: McpCaller): Promise<Tool[]> {
    const { principal } = caller;
    const tools: Tool[] = [];
    for (const [service, config] of this.deps.config.services) {
      if (!serviceAllowed(principal, service)) continue;
      for (const tool of config.tools) {
        tools.push({ name: namespaced(service, tool.name), description: tool.description, inputSchema: tool.input_schema as Tool['inputSchema'] });
      }
    }
    const upstream = await Promise.all(
      this.deps.upstream.names.map(async (server) => {
        try {
          const listed = await this.deps.upstream.listTools(server, this.upstreamContext(caller));
          return listed
            .map((tool) => ({ ...tool, name: namespaced(server, tool.name) }))
            .filter((tool) => this.descriptionPasses(principal, server, tool));
        } catch (error) {
          // One server down must not hide every other tool: it is left out of this list.
          this.deps.logger.warn('MCP server left out of tools/list', { mcp_server: server, error_code: isGatewayError(error) ? error.code : (error as Error)?.name });
          return [];
        }
      }),
    );
    tools.push(...upstream.flat());
    return tools.filter((tool) => toolAllowed(principal.policy.allowed_tools, tool.name));
  }

  private async call(name: string, args: Record<string, unknown>, caller: McpCaller): Promise<CallToolResult> {
    const { principal } = caller;
    const startedAt = this.deps.clock.now();
    const audit: Record<string, unknown> = {
      event: 'mcp_tool_call',
      tenant: principal.tenant.name,
      key_prefix: principal.keyPrefix,
      end_user: caller.endUser,
      tool: name,
    };
    try {
      if (!toolAllowed(principal.policy.allowed_tools, name)) {
        audit.outcome = 'not_allowed';
        throw new McpError(ErrorCode.InvalidParams, `tool "${name}" is not available to this key`);
      }
      const target = splitToolName(name);
      const restTool = target && this.deps.config.services.get(target.source)?.tools.find((tool) => tool.name === target.tool);
      if (target && restTool && serviceAllowed(principal, target.source)) {
        const result = await this.callRest(target.source, restTool, args, caller, audit);
        return result;
      }
      if (target && this.deps.config.mcpServers.has(target.source)) {
        return await this.callUpstream(target.source, target.tool, args, caller, audit);
      }
      audit.outcome = 'unknown_tool';
      throw new McpError(ErrorCode.InvalidParams, `no tool named "${name}"`);
    } catch (error) {
      if (error instanceof McpError) throw error;
      if (!isGatewayError(error)) throw error;
      audit.outcome = 'error';
      audit.error_code = error.code;
      // A refusal or a failure of the tool is the tool's result, which the model can read and act on.
      return { isError: true, content: [{ type: 'text', text: `${error.code}: ${error.message}` }] };
    } finally {
      audit.latency_ms = this.deps.clock.now() - startedAt;
      this.deps.logger.info('MCP tool call', audit);
    }
  }

  /** A REST service's tool: the tool proxy runs it (its policy, loop guard, approvals and audit line included). */
  private async callRest(
    service: string,
    tool: RestToolConfig,
    args: Record<string, unknown>,
    caller: McpCaller,
    audit: Record<string, unknown>,
  ): Promise<CallToolResult> {
    await this.checkRate(caller);
    const call = restToolCall(service, tool, args, { endUser: caller.endUser, priority: caller.priority });
    const outcome = await this.deps.tools.serve(call, this.toolCaller(caller), caller.deadline);
    if (outcome.kind === 'held') return approvalPending(outcome.held, `${outcome.rule.method} ${outcome.rule.path} on ${service}`, audit);
    const { statusCode, body } = outcome.response;
    const text = await readText(body);
    audit.outcome = statusCode < 400 ? 'ok' : 'tool_error';
    audit.status = statusCode;
    return { isError: statusCode >= 400, content: [{ type: 'text', text: statusCode >= 400 ? `HTTP ${statusCode}: ${text}` : text }] };
  }

  /**
   * An upstream server's tool, with loop detection and the key's rate limit; one of the server's
   * `high_stakes_tools` is held for a person's approval instead of running.
   */
  private async callUpstream(
    server: string,
    tool: string,
    args: Record<string, unknown>,
    caller: McpCaller,
    audit: Record<string, unknown>,
  ): Promise<CallToolResult> {
    const { principal } = caller;
    await this.checkRate(caller);
    await this.deps.toolQuota?.spend(principal, caller.deadline);
    await this.deps.loopGuard?.check({
      keyId: principal.keyId,
      tenant: principal.tenant.name,
      keyPrefix: principal.keyPrefix,
      fingerprint: createHash('sha256').update(JSON.stringify([server, tool, args])).digest('hex'),
      ...DEFAULT_LOOP_DETECTION,
    });
    audit.mcp_server = server;
    if (this.deps.config.mcpServers.get(server)?.high_stakes_tools.includes(tool)) {
      if (!this.deps.approvals) {
        throw new GatewayError('tool_state_unavailable', `tool "${namespaced(server, tool)}" needs a person's approval, and approvals are not enabled on this gateway`);
      }
      const call = mcpToolCall({ server, tool, args }, { endUser: caller.endUser, priority: caller.priority });
      const held = await this.deps.approvals.hold(call, this.toolCaller(caller), mcpHighStakesRule(tool));
      return approvalPending(held, `tool ${namespaced(server, tool)}`, audit);
    }
    return this.runUpstream(server, tool, args, caller, audit);
  }

  /**
   * An approved call to an upstream server's tool (the approvals part runs it through
   * ToolCallDispatcher): run once, screened, its MCP result kept as the approval's JSON result.
   */
  async execute(call: ToolCall, caller: ToolCaller, deadline: Deadline, context: { approvalId?: string } = {}): Promise<ToolResponse> {
    const target = mcpToolTarget(call);
    if (!target) throw new GatewayError('invalid_request', `a held call to "${call.service}" is not an MCP tool call`);
    const name = namespaced(target.server, target.tool);
    const startedAt = this.deps.clock.now();
    const audit: Record<string, unknown> = {
      event: 'mcp_tool_call',
      tenant: caller.tenant,
      key_prefix: caller.keyPrefix,
      end_user: call.endUser,
      tool: name,
      approval_id: context.approvalId,
    };
    try {
      const mcpCaller: McpCaller = { principal: caller.principal, endUser: call.endUser, priority: call.priority, deadline };
      const result = await this.runUpstream(target.server, target.tool, target.args, mcpCaller, audit);
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Readable.from([Buffer.from(JSON.stringify(result))]) };
    } catch (error) {
      audit.outcome = 'error';
      audit.error_code = isGatewayError(error) ? error.code : 'internal_error';
      throw error;
    } finally {
      audit.latency_ms = this.deps.clock.now() - startedAt;
      this.deps.logger.info('MCP tool call', audit);
    }
  }

  /** Runs an upstream tool and screens its result. */
  private async runUpstream(server: string, tool: string, args: Record<string, unknown>, caller: McpCaller, audit: Record<string, unknown>): Promise<CallToolResult> {
    const { principal } = caller;
    const result = await this.deps.upstream.callTool(server, tool, args, this.upstreamContext(caller));
    audit.outcome = result.isError ? 'tool_error' : 'ok';
    audit.mcp_server = server;
    const texts = (result.content ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : []));
    const matches = this.screenText(principal, texts.join('\n'));
    if (matches.length > 0) {
      this.securityEvent(principal, { source: 'tool_result', mcp_server: server, tool, patterns: matches });
      if (principal.policy.input_screening === 'block') {
        audit.outcome = 'blocked';
        return { isError: true, content: [{ type: 'text', text: `input_rejected: the tool's result matched input screening patterns (${matches.join(', ')}) and was withheld` }] };
      }
    }
    return result;
  }

  /** A poisoned description is an attack on the model that reads it: flagged, or in `block` mode, the tool is not listed. */
  private descriptionPasses(principal: Principal, server: string, tool: Tool): boolean {
    const matches = this.screenText(principal, `${tool.description ?? ''}\n${JSON.stringify(tool.inputSchema ?? {})}`);
    if (matches.length === 0) return true;
    this.securityEvent(principal, { source: 'tool_description', mcp_server: server, tool: tool.name, patterns: matches });
    return principal.policy.input_screening !== 'block';
  }

  private screenText(principal: Principal, text: string): string[] {
    if ((principal.policy.input_screening ?? 'off') === 'off' || text === '') return [];
    return screenInput({ messages: [{ role: 'tool', content: text }] });
  }

  private securityEvent(principal: Principal, details: Record<string, unknown>): void {
    this.deps.logger.warn('security: prompt injection pattern in an MCP tool', {
      event: 'mcp_screening',
      tenant: principal.tenant.name,
      key_prefix: principal.keyPrefix,
      action: principal.policy.input_screening,
      ...details,
    });
  }

  /** The key's rpm limit counts tool calls too. */
  private async checkRate(caller: McpCaller): Promise<void> {
    const rpm = caller.principal.policy.rpm_limit;
    if (rpm === undefined || !this.deps.rateLimiter) return;
    await this.deps.rateLimiter.check({ keyId: caller.principal.keyId, rpmLimit: rpm, estimatedTokens: 0 });
  }

  private toolCaller(caller: McpCaller): ToolCaller {
    const { principal } = caller;
    return { tenant: principal.tenant.name, keyPrefix: principal.keyPrefix, keyId: principal.keyId, principal };
  }

  private upstreamContext(caller: McpCaller) {
    return { tenant: caller.principal.tenant.name, endUser: caller.endUser, deadline: caller.deadline };
  }
}

/** The tool result of a held call: what the agent reads, and the approval id for its code to poll. */
function approvalPending(held: HeldCall, what: string, audit: Record<string, unknown>): CallToolResult {
  audit.outcome = 'held';
  audit.approval_id = held.approvalId;
  const text = [
    `This call needs a person's approval before it runs (${what}).`,
    `Approval id: ${held.approvalId}. It expires at ${new Date(held.expiresAt).toISOString()}.`,
    `Its result will be at GET /v1/approvals/${held.approvalId} once approved; do not call the tool again.`,
  ].join('\n');
  return {
    content: [{ type: 'text', text }],
    structuredContent: { status: 'approval_pending', approval_id: held.approvalId, expires_at: Math.floor(held.expiresAt / 1_000) },
  };
}

const serviceAllowed = (principal: Principal, service: string) =>
  principal.policy.allowed_services === undefined || principal.policy.allowed_services.includes(service);

async function readText(body: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(buffer);
    size += buffer.byteLength;
    if (size > MAX_RESULT_TEXT_BYTES) break;
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_RESULT_TEXT_BYTES).toString('utf8');
  return size > MAX_RESULT_TEXT_BYTES ? `${text}\n[truncated at ${MAX_RESULT_TEXT_BYTES} bytes]` : text;
}
