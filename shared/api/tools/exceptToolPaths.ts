import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { isToolPath } from './toolCallFromEvent';

/**
 * A body middleware that every door but the tool proxy needs: a tool call's body is the API's
 * business (a form, an upload, JSON), relayed as bytes, so the JSON body parser must not touch it
 * (it would refuse a form body, and re-serialise a JSON one).
 */
export function exceptToolPaths<R>(middleware: MiddlewareObj<APIGatewayProxyEvent, R>): MiddlewareObj<APIGatewayProxyEvent, R> {
  const before = middleware.before;
  return {
    ...middleware,
    before: before ? (request) => (isToolPath(request.event.path) ? undefined : before(request)) : undefined,
  };
}
