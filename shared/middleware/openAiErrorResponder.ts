import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { GatewayError, isGatewayError } from '../errors';
import { redactCredentials } from '../providers/redact';

/** Middy's JSON body parser signals malformed JSON with a 415 whose cause names its package. */
function fromMiddyParser(error: unknown): GatewayError | undefined {
  const cause = (error as { cause?: { package?: unknown } } | undefined)?.cause;
  if (cause?.package !== '@middy/http-json-body-parser') return undefined;
  return new GatewayError('invalid_request', 'the request body is not valid JSON');
}

/**
 * An API surface's own error format, chosen by the request's path: the Anthropic Messages door
 * answers in Anthropic's shape so the Anthropic SDK raises its own error classes.
 */
export interface ErrorShape {
  matches(path: string): boolean;
  /** The body, and headers added to the response's (`x-request-id` is always there). */
  render(error: GatewayError, requestId: string): { body: unknown; headers?: Record<string, string> };
}

export interface ErrorResponderOptions {
  /** The first whose `matches` accepts the path renders the error; OpenAI's shape otherwise. */
  shapes?: readonly ErrorShape[];
}

/**
 * Turns any error into a JSON response, OpenAI-shaped unless a door's {@link ErrorShape} claims
 * the path: a {@link GatewayError} keeps its code and status; anything unexpected becomes a 500
 * whose message reveals nothing, logged with the request id so it can be found.
 */
export const openAiErrorResponder = (
  logger: Logger,
  options: ErrorResponderOptions = {},
): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
  onError: (request) => {
    const error = isGatewayError(request.error) ? request.error : fromMiddyParser(request.error);
    const requestId = request.event?.requestContext?.requestId ?? request.context?.awsRequestId ?? 'unknown';
    let response: GatewayError;
    if (error) {
      response = error;
      const level = error.status >= 500 ? 'warn' : 'info';
      logger[level]('request failed', { status: error.status, code: error.code, error_message: error.message });
    } else {
      response = new GatewayError('internal_error', `internal error; quote request id ${requestId}`);
      logger.error('unexpected error', {
        error_name: (request.error as Error | undefined)?.name,
        error_message: redactCredentials(String((request.error as Error | undefined)?.message ?? request.error)),
      });
    }
    const path = request.event?.path ?? '';
    const shaped = options.shapes?.find((shape) => shape.matches(path))?.render(response, requestId);
    request.response = {
      statusCode: response.status,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...shaped?.headers, ...response.headers },
      body: JSON.stringify(shaped ? shaped.body : response.toBody()),
    };
  },
});
