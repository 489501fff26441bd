import type { z } from 'zod';
import { formatPath } from '../config/ConfigError';
import { GatewayError } from '../errors';
import { exceedsJsonDepth } from './jsonDepth';

/** Real chat requests nest a dozen levels (tool JSON schemas a few more); 64 is generous. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a body against a schema; the 400's message names the first bad field. `precheck` runs
 * first, before any walk of the whole body: the place for cheap size bounds that keep the rest
 * linear in an accepted request's size.
 */
export function validateBody<T extends z.ZodType>(
  schema: T,
  body: unknown,
  precheck?: (body: Readonly<Record<string, unknown>>) => void,
): z.infer<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'the request body must be a JSON object');
  }
  precheck?.(body as Record<string, unknown>);
  if (exceedsJsonDepth(body, MAX_JSON_DEPTH)) {
    throw new GatewayError('invalid_request', `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = formatPath(issue.path);
  return failWith(path, issue.message, parsed.error.issues.length);
}

function failWith(path: string, message: string, count: number): never {
  const more = count > 1 ? ` (and ${count - 1} more problem${count > 2 ? 's' : ''})` : '';
  throw new GatewayError('invalid_request', `${path || 'body'}: ${message}${more}`, { details: { param: path || null } });
}
