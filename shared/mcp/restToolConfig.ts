import * as z from 'zod';

/** Tool names MCP clients accept: letters, digits, `_` and `-` (Claude and OpenAI both cap at 64). */
export const toolNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a tool name: letters, digits, _ and -, at most 64');

/**
 * `services.<name>.tools`: a REST operation exposed as an MCP tool. The input's fields fill the
 * path template's `{field}`s, then `query` fields go to the query string and the rest is the JSON body
 * (for GET and DELETE, everything left goes to the query).
 */
// z.lazy: built on first use, not at import (cold-start CPU).
export const restToolSchema = z.lazy(() =>
  z.strictObject({
  name: toolNameSchema,
  description: z.string().min(1).max(4_000),
  /** JSON Schema of the tool's input (an object schema). */
  input_schema: z
    .record(z.string(), z.unknown())
    .refine((schema) => schema.type === 'object', 'an object schema: `{"type": "object", "properties": {...}}`')
    .default({ type: 'object', properties: {} }),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
  /** Under the service's base URL, with `{field}` placeholders: `/v1/customers/{id}`. */
  path: z.string().startsWith('/'),
  query: z.array(z.string().min(1)).default([]),
  }),
);
export type RestToolConfig = z.infer<typeof restToolSchema>;
