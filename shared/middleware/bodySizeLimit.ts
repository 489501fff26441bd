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
      // Base64 inflates by 4/3; measure the decoded size without decoding.
      const bytes = isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body);
      if (bytes > maxBytes) {
        throw new GatewayError('payload_too_large', `the request body is ${bytes} bytes; the limit is ${maxBytes}`);
      }
    },
  };
};
