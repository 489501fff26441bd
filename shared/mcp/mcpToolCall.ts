import type { ToolCall, ToolPriority } from '../tools/types';

/**
 * A call to an upstream MCP server's tool in the tool proxy's shape, so the approvals part can
 * hold it and run it later like any other: service `mcp:<server>`, `POST /tools/<tool>` (a
 * `tools/call` is a POST to the server's endpoint), the JSON arguments as the body.
 */
export const MCP_SERVICE_PREFIX = 'mcp:';

export interface McpToolTarget {
  server: string;
  tool: string;
  args: Record<string, unknown>;
}

/** The rule a held call names (`POST /tools/delete_file`), shown to the person who decides. */
export const mcpHighStakesRule = (tool: string) => ({ method: 'POST', path: `/tools/${encodeURIComponent(tool)}` });

export function mcpToolCall(target: McpToolTarget, options: { endUser?: string; priority: ToolPriority }): ToolCall {
  return {
    service: `${MCP_SERVICE_PREFIX}${target.server}`,
    ...mcpHighStakesRule(target.tool),
    query: '',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(target.args)),
    ...(options.endUser ? { endUser: options.endUser } : {}),
    priority: options.priority,
  };
}

export const isMcpToolCall = (call: Pick<ToolCall, 'service'>): boolean => call.service.startsWith(MCP_SERVICE_PREFIX);

/** The server, tool and arguments of a call built by {@link mcpToolCall}; undefined for any other call. */
export function mcpToolTarget(call: ToolCall): McpToolTarget | undefined {
  const match = /^\/tools\/([^/]+)$/.exec(call.path);
  if (!isMcpToolCall(call) || call.method !== 'POST' || !match) return undefined;
  const args: unknown = call.body ? JSON.parse(call.body.toString('utf8')) : {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return undefined;
  return { server: call.service.slice(MCP_SERVICE_PREFIX.length), tool: decodeURIComponent(match[1]!), args: args as Record<string, unknown> };
}
