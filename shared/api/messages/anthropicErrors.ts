import type { GatewayError } from '../../errors';
import type { ErrorShape } from '../../middleware/openAiErrorResponder';

/**
 * Errors in Anthropic's shape, `{"type":"error","error":{"type","message"},"request_id"}`, with
 * the gateway's status: the Anthropic SDK picks its error class from the status
 * (AuthenticationError, RateLimitError, BadRequestError, ...). The gateway's own code goes in
 * `error.details.error_code`, where the SDK reads a stable cause (`error.errorCode`).
 */

/** Anthropic's error type for a status; 5xx is `api_error` but for 504 and 529, as Anthropic answers them. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string; details: Record<string, unknown> };
  request_id: string;
}

export function anthropicErrorBody(error: GatewayError, requestId: string): AnthropicErrorBody {
  return {
    type: 'error',
    error: { type: anthropicErrorType(error.status), message: error.message, details: { error_code: error.code, ...error.details } },
    request_id: requestId,
  };
}

/** Everything under `/v1/messages`, malformed JSON and unknown sub-paths included. */
const MESSAGES_PATH = /^\/v1\/messages(\/|$)/;

/** The error responder's shape for the Messages door; `request-id` is the header the SDK reads. */
export const messagesErrorShape: ErrorShape = {
  matches: (path) => MESSAGES_PATH.test(path),
  render: (error, requestId) => ({ body: anthropicErrorBody(error, requestId), headers: { 'request-id': requestId } }),
};
