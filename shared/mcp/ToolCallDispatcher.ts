import type { Deadline } from '../resilience/deadline';
import type { ToolCall, ToolCallExecutor, ToolCaller, ToolResponse } from '../tools/types';
import { isMcpToolCall } from './mcpToolCall';

export interface ToolCallDispatcherOptions {
  /** Runs calls to upstream MCP servers' tools (`mcp:<server>`). Given late: the MCP door is built on first use. */
  mcp: () => ToolCallExecutor | Promise<ToolCallExecutor>;
  /** Runs every other call: the tool proxy. Given late: it holds the approvals part that holds this. */
  proxy: () => ToolCallExecutor;
}

/**
 * What the approvals part runs an approved call with: an upstream MCP tool goes back to its MCP
 * server, a REST call to the tool proxy. Either way it runs once, through the same credential,
 * breaker and audit line as an unheld call.
 */
export class ToolCallDispatcher implements ToolCallExecutor {
  constructor(private readonly options: ToolCallDispatcherOptions) {}

  async execute(call: ToolCall, caller: ToolCaller, deadline: Deadline, context?: { approvalId?: string }): Promise<ToolResponse> {
    const executor = await (isMcpToolCall(call) ? this.options.mcp() : this.options.proxy());
    return executor.execute(call, caller, deadline, context);
  }
}
