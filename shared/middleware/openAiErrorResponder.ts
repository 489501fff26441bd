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
 * Turns any error into an OpenAI-shaped JSON response: a {@link GatewayError} keeps its code and
 * status; anything unexpected becomes a 500 whose message reveals nothing, logged with the
 * request id so it can be found.
 */
export const openAiErrorResponder = (logger: Logger): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> => ({
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
    request.response = {
      statusCode: response.status,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...response.headers },
      body: JSON.stringify(response.toBody()),
    };
  },
});
