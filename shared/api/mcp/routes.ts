import { GatewayError } from '../../errors';
import type { McpGateway } from '../../mcp/McpGateway';
import { TOOL_PRIORITIES } from '../../tools/types';
import type { GatewayResponse } from '../chat/sseResponse';
import type { GatewayEngine } from '../GatewayEngine';
import type { RouteRequest, RouteTable } from '../router';

export interface McpDoor {
  mcp: () => Promise<McpGateway>;
}

/**
 * `/mcp`: MCP's Streamable HTTP transport, stateless. POST carries every JSON-RPC message; the
 * server offers no stream of its own to GET and keeps no session to DELETE, which the spec
 * answers with 405 (clients then work over POST alone).
 */
export function mcpRoutes(engine: GatewayEngine, door: McpDoor): RouteTable {
  const notOffered = async (): Promise<GatewayResponse> => {
    throw new GatewayError('method_not_allowed', 'this MCP endpoint is stateless: send every message with POST', { headers: { allow: 'POST' } });
  };
  return {
    '/mcp': {
      POST: async ({ event, context }: RouteRequest) => {
        const principal = await engine.authenticate(event.headers);
        const headers = new Headers();
        for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) headers.set(name, value);
        // The gateway's JSON body parser has already parsed the body (and refused one that is not JSON).
        const parsed: unknown = event.body;
        const body = parsed === null || parsed === undefined ? undefined : typeof parsed === 'string' ? parsed : JSON.stringify(parsed);
        const request = new Request(`http://breakwater.local${event.path}`, { method: 'POST', headers, body });
        const endUser = event.headers['x-breakwater-user']?.trim() || undefined;
        const priority = event.headers['x-breakwater-priority']?.trim().toLowerCase() === 'background' ? TOOL_PRIORITIES.BACKGROUND : TOOL_PRIORITIES.INTERACTIVE;
        const response = await (await door.mcp()).handle(request, { principal, endUser, priority, deadline: engine.requestDeadline(context) });
        const responseHeaders: Record<string, string> = {};
        response.headers.forEach((value, name) => (responseHeaders[name] = value));
        return { statusCode: response.status, headers: responseHeaders, body: await response.text() };
      },
      GET: notOffered,
      DELETE: notOffered,
    },
  };
}
