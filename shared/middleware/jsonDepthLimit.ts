import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { GatewayError } from '../errors';
import { MAX_JSON_DEPTH } from '../gateway/validateBody';

export interface JsonDepthLimitOptions {
  /** @default {@link MAX_JSON_DEPTH} (64), the limit every door applies to the parsed body */
  maxDepth?: number;
}

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether JSON text nests deeper than `limit`, read from the text: brackets outside strings are
 * counted, and the scan stops at the first level past the limit. Malformed text is left to the
 * parser, which refuses it.
 */
export function textNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * Refuses a body nested past the limit before it is parsed: `JSON.parse` builds every level
 * first (half a second of one CPU for a 2 MB body of a million nested arrays), and the doors'
 * own depth check only sees the parsed value. The scan stops at the limit, so a hostile body
 * costs microseconds and an ordinary one a pass over its characters.
 */
export const jsonDepthLimit = (options: JsonDepthLimitOptions = {}): MiddlewareObj<APIGatewayProxyEvent> => {
  const maxDepth = options.maxDepth ?? MAX_JSON_DEPTH;
  return {
    before: (request) => {
      const { body, isBase64Encoded } = request.event;
      if (typeof body !== 'string') return;
      // A binary media type (API Gateway's base64) is still parsed as JSON by the doors: scan it decoded.
      const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
      if (textNestsDeeperThan(text, maxDepth)) {
        throw new GatewayError('invalid_request', `the request body nests deeper than ${maxDepth} levels`);
      }
    },
  };
};
