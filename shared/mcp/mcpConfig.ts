import * as z from 'zod';
import { circuitBreakerConfigSchema } from '../breaker/config';
import { serviceAuthSchema } from '../tools/serviceConfig';

// Built on first use, as every config schema: building zod schemas at import costs cold-start CPU.
const positiveMs = () => z.number().int().positive();

/**
 * `mcp_servers.<name>`: a remote MCP server (Streamable HTTP) whose tools Breakwater exposes as
 * `<name>__<tool>`, holding its credential. The credential is the server's own `auth`, or the one
 * of a configured service (`credentials_from`), which is how a server takes a user's OAuth
 * connection made with `POST /v1/connections/<service>`.
 */
export const mcpServerSchema = z.lazy(() =>
  z
    .strictObject({
      url: z.url(),
      auth: serviceAuthSchema.default({ type: 'none' }),
      /** A service in `services` whose credential (and user connections) this server uses. */
      credentials_from: z.string().min(1).optional(),
      /** Per MCP request to the server. @default 15_000 */
      timeout: positiveMs().optional(),
      circuit_breaker: circuitBreakerConfigSchema.optional(),
      /** How long the server's tool list is trusted per container. @default 300_000 */
      tools_cache_ttl_ms: positiveMs().optional(),
      /** Tools (the server's own names) that a person must approve before they run. */
      high_stakes_tools: z.array(z.string().min(1)).default([]),
    })
    .refine((server) => server.credentials_from === undefined || server.auth.type === 'none', {
      path: ['credentials_from'],
      message: 'a server takes its credential either from `auth` or from `credentials_from`, not both',
    }),
);
export type McpServerConfig = z.infer<typeof mcpServerSchema>;

