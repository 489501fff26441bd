import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messagesErrorShape } from '../../../../shared/api/messages/anthropicErrors';
import { GatewayError } from '../../../../shared/errors';
import { openAiErrorResponder } from '../../../../shared/middleware';
import { capturingLogger } from '../../../support/capturingLogger';

/** Runs the responder's onError as Middy would, for an error on `path`. */
function respond(path: string, error: unknown, shapes = [messagesErrorShape]) {
  const request = {
    event: { path, requestContext: { requestId: 'req-7' } },
    context: {},
    error,
    response: undefined as undefined | { statusCode: number; headers: Record<string, string>; body: string },
    internal: {},
  };
  const { logger } = capturingLogger();
  (openAiErrorResponder(logger, { shapes }).onError as (request: unknown) => void)(request);
  return request.response!;
}

const limited = () => new GatewayError('rate_limited', 'slow down', { headers: { 'retry-after': '3' }, details: { limit: 'rpm' } });

describe('the error responder picks the shape by path', () => {
  it('under /v1/messages: Anthropic\'s shape, the code in details, request-id beside x-request-id, the error\'s own headers kept', () => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens', '/v1/messages/batches']) {
      const response = respond(path, limited());
      assert.equal(response.statusCode, 429);
      assert.deepEqual(JSON.parse(response.body), {
        type: 'error',
        error: { type: 'rate_limit_error', message: 'slow down', details: { error_code: 'rate_limited', limit: 'rpm' } },
        request_id: 'req-7',
      });
      assert.deepEqual(response.headers, { 'content-type': 'application/json', 'x-request-id': 'req-7', 'request-id': 'req-7', 'retry-after': '3' });
    }
  });

  it('elsewhere: OpenAI\'s shape, byte for byte what it was without shapes', () => {
    for (const path of ['/v1/chat/completions', '/v1/messagesx', '/v1/responses']) {
      const shaped = respond(path, limited());
      const plain = respond(path, limited(), []);
      assert.deepEqual(shaped, plain);
      assert.equal(shaped.body, JSON.stringify(limited().toBody()));
    }
  });

  it('an unexpected error under /v1/messages: a 500 api_error that reveals nothing', () => {
    const response = respond('/v1/messages', new Error('db password is hunter2'));
    const body = JSON.parse(response.body) as { error: { type: string; message: string } };
    assert.equal(response.statusCode, 500);
    assert.equal(body.error.type, 'api_error');
    assert.doesNotMatch(body.error.message, /hunter2/);
  });
});
