import { GatewayError } from '../errors';
import type { ToolCall, ToolPriority } from '../tools/types';
import type { RestToolConfig } from './restToolConfig';

/**
 * A REST tool's MCP arguments as the HTTP call the tool proxy runs: `{field}`s of the path
 * template from the arguments (percent-encoded, so an argument cannot add path segments), the
 * `query` fields to the query string, the rest as the JSON body (or the query, for methods
 * without a body). A missing path argument is the agent's mistake: a 400-class tool error.
 */
export function restToolCall(
  service: string,
  tool: RestToolConfig,
  args: Readonly<Record<string, unknown>>,
  options: { endUser?: string; priority: ToolPriority },
): ToolCall {
  const rest: Record<string, unknown> = { ...args };
  const path = tool.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_, field: string) => {
    const value = rest[field];
    if (value === undefined || value === null || value === '') {
      throw new GatewayError('invalid_request', `tool "${tool.name}" needs the argument "${field}"`, { details: { param: field } });
    }
    delete rest[field];
    return encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value));
  });

  const query = new URLSearchParams();
  const toQuery = (field: string, value: unknown) => {
    if (value === undefined || value === null) return;
    query.append(field, typeof value === 'string' ? value : JSON.stringify(value));
  };
  for (const field of tool.query) {
    toQuery(field, rest[field]);
    delete rest[field];
  }
  const hasBody = !['GET', 'HEAD', 'DELETE'].includes(tool.method);
  if (!hasBody) for (const [field, value] of Object.entries(rest)) toQuery(field, value);
  const body = hasBody && Object.keys(rest).length > 0 ? Buffer.from(JSON.stringify(rest)) : undefined;
  return {
    service,
    method: tool.method,
    path,
    query: query.toString(),
    headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body } : {}),
    ...(options.endUser ? { endUser: options.endUser } : {}),
    priority: options.priority,
  };
}
