import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { GatewayError } from '../errors';

export interface BodySizeLimitOptions {
  /** @default 4 MiB — a chat request with a few images fits; a runaway loop's payload does not. */
  maxBytes?: number;
}

/** Rejects an oversized body with 413 before anything parses it. */
export const bodySizeLimit = (options: BodySizeLimitOptions = {}): MiddlewareObj<APIGatewayProxyEvent> => {
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  return {
    before: (request) => {
      const { body, isBase64Encoded } = request.event;
      if (typeof body !== 'string') return;
      // Base64 (API Gateway's binary media types) inflates by 4/3: count the decoded bytes,
      // padding excluded, without decoding.
      const bytes = Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8');
      if (bytes > maxBytes) {
        throw new GatewayError('payload_too_large', `the request body is ${bytes} bytes; the limit is ${maxBytes}`);
      }
    },
  };
};
