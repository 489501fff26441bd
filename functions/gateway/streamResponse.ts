import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, Context, StreamifyHandler } from 'aws-lambda';
import type { GatewayResponse } from '../../shared/gateway/GatewayApp';

interface AwsLambdaStreaming {
  streamifyResponse<T>(handler: T): T;
  HttpResponseStream: { from(stream: Writable, prelude: Record<string, unknown>): Writable };
}

const awslambdaGlobal = () => (globalThis as unknown as { awslambda: AwsLambdaStreaming }).awslambda;

/**
 * Writes a response to Lambda's response stream as API Gateway's streaming integration reads it:
 * the prelude (status, headers), then the body. A buffered body is one write then `end`: no
 * Readable wrapped around the string and no pipeline, which Middy's streaming mode makes for
 * every answer (with the local emulation's second stream, they cost ~0.1 ms of CPU a request on
 * `npm run bench`). Never `end(chunk)`: the runtime's `end` goes around its own `write`, so the
 * prelude would be skipped (aws-lambda-nodejs-runtime-interface-client, ResponseStream).
 */
export async function writeStreamingResponse(response: GatewayResponse, responseStream: Writable): Promise<void> {
  const { body, ...prelude } = response;
  const stream = awslambdaGlobal().HttpResponseStream.from(responseStream, prelude);
  if (typeof body !== 'string') {
    await pipeline(body, stream);
    return;
  }
  stream.write(body);
  await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

/** `handle(event, context)` (a buffered Middy chain) as the response-streaming handler Lambda calls. */
export function streamingHandler(
  handle: (event: APIGatewayProxyEvent, context: Context) => Promise<GatewayResponse>,
): StreamifyHandler<APIGatewayProxyEvent, void> {
  return awslambdaGlobal().streamifyResponse(async (event: APIGatewayProxyEvent, responseStream: Writable, context: Context) => {
    await writeStreamingResponse(await handle(event, context), responseStream);
  }) as unknown as StreamifyHandler<APIGatewayProxyEvent, void>;
}
