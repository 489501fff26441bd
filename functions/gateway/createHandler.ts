import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { finished, type Readable } from 'node:stream';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEvent, StreamifyHandler } from 'aws-lambda';
import { messagesErrorShape } from '../../shared/api/messages/anthropicErrors';
import type { CompiledConfig } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import { GatewayApp, type GatewayServices } from '../../shared/gateway';
import type { GatewayResponse } from '../../shared/gateway/GatewayApp';
import { bodySizeLimit, openAiErrorResponder, publishMetrics } from '../../shared/middleware';
import { systemClock, systemRandom, type Clock, type RandomSource } from '../../shared/resilience';
import type { Tracing } from '../../shared/telemetry';

export interface GatewayHandlerDeps {
  config: CompiledConfig;
  secrets: SecretSource;
  services?: GatewayServices;
  clock?: Clock;
  random?: RandomSource;
  logger?: Logger;
  /** From {@link loadTracing}: absent off Lambda, so X-Ray's SDK is never loaded there. */
  tracing?: Tracing;
  metrics?: Metrics;
}

/** What Lambda invokes: `(event, responseStream, context)`, the response written to the stream. */
export type GatewayStreamingHandler = StreamifyHandler<APIGatewayProxyEvent, void>;

/**
 * The gateway Lambda: a list of middlewares around {@link GatewayApp}, in Lambda response
 * streaming mode (API Gateway's STREAM transfer mode on every route). Middy calls
 * `awslambda.streamifyResponse` here, so the global must exist first: the Lambda runtime defines
 * it; off Lambda, `installAwsLambdaGlobal()` from bin/local/lambdaStreaming.ts does. After the
 * chain, Middy writes the status and headers as the HTTP prelude and pipes the body (a string
 * for JSON answers and errors, a Readable for SSE) to the response stream.
 */
export function createGatewayHandler(deps: GatewayHandlerDeps): GatewayStreamingHandler {
  if (typeof (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda?.streamifyResponse !== 'function') {
    throw new Error(
      'the gateway handler streams its responses and needs the Lambda runtime\'s `awslambda` global; ' +
        'off Lambda, call installAwsLambdaGlobal() from bin/local/lambdaStreaming.ts before creating it',
    );
  }
  const logger = deps.logger ?? new Logger({ serviceName: 'breakwater-gateway' });
  const metrics = deps.metrics ?? new Metrics({ namespace: 'Breakwater', serviceName: 'breakwater-gateway' });
  const app = new GatewayApp({
    config: deps.config,
    secrets: deps.secrets,
    services: deps.services,
    clock: deps.clock ?? systemClock,
    random: deps.random ?? systemRandom,
    logger,
    metrics,
    observer: deps.tracing?.observer,
    onAuthFailure: () => metrics.addMetric('UpstreamAuthFailure', 'Count', 1),
  });

  const handler = middy<APIGatewayProxyEvent, GatewayResponse>({ streamifyResponse: true })
    .use(deps.tracing ? [deps.tracing.middleware] : [])
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics(metrics))
    .use(publishMetricsWhenStreamEnds(metrics))
    // Errors in OpenAI's shape, but under /v1/messages in Anthropic's (the Anthropic SDK's error classes).
    .use(openAiErrorResponder(logger, { shapes: [messagesErrorShape] }) as MiddlewareObj<APIGatewayProxyEvent, GatewayResponse>)
    .use(httpHeaderNormalizer())
    .use(bodySizeLimit({ maxBytes: deps.config.settings.max_body_bytes }))
    // Content-type is not checked: curl users forget it, and the body must be JSON either way.
    // (The option exists in 6.x's code but not yet in its .d.ts, hence the cast.)
    .use(httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<typeof httpJsonBodyParser>[0]))
    .handler(app.handle);
  // Middy's types describe the chain, `(event, context) => response`; in streaming mode the
  // function Lambda calls is `(event, responseStream, context)`, marked by streamifyResponse.
  return handler as unknown as GatewayStreamingHandler;
}

/**
 * `publishMetrics` flushes when the chain ends, which for a streamed answer is before its body
 * is sent: what the engine records while the stream runs (usage, spend, attempts) is flushed
 * here once the body ends or is destroyed, instead of riding along with the next invocation.
 */
function publishMetricsWhenStreamEnds(metrics: Pick<Metrics, 'hasStoredMetrics' | 'publishStoredMetrics'>): MiddlewareObj<APIGatewayProxyEvent, GatewayResponse> {
  return {
    after: (request) => {
      const body = request.response?.body;
      if (body === undefined || typeof body === 'string') return;
      finished(body as Readable, () => {
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      });
    },
  };
}
