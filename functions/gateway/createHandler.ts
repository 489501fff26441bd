import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { finished, type Readable } from 'node:stream';
import { apiPath } from '../../shared/api/apiPath';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEvent, StreamifyHandler } from 'aws-lambda';
import { messagesErrorShape } from '../../shared/api/messages/anthropicErrors';
import { exceptToolPaths } from '../../shared/api/tools/exceptToolPaths';
import type { CompiledConfig } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import { GatewayApp, type GatewayServices } from '../../shared/gateway';
import type { GatewayResponse } from '../../shared/gateway/GatewayApp';
import { createLogger } from '../../shared/logging';
import { bodySizeLimit, jsonDepthLimit, openAiErrorResponder, publishMetrics, redactResponses } from '../../shared/middleware';
import type { SecretRedactor } from '../../shared/redaction';
import { systemClock, systemRandom, type Clock, type RandomSource } from '../../shared/resilience';
import type { Tracing } from '../../shared/telemetry';
import { SERVICES } from '../../shared/telemetry/metricNames';
import { functionMetrics } from '../../shared/telemetry/functionMetrics';
import { RequestMetrics } from '../../shared/telemetry/requestMetrics';
import { streamingHandler } from './streamResponse';

export interface GatewayHandlerDeps {
  config: CompiledConfig;
  secrets: SecretSource;
  services?: GatewayServices;
  clock?: Clock;
  random?: RandomSource;
  /** @default createLogger(): every line redacted */
  logger?: Logger;
  /** Cuts the credentials in use out of answers; the secret source feeds it. @default defaultSecretRedactor */
  redactor?: SecretRedactor;
  /** From {@link loadTracing}: absent off Lambda, so X-Ray's SDK is never loaded there. */
  tracing?: Tracing;
  metrics?: Metrics;
  /** @default per-request EMF metrics on a Metrics instance of their own, in the stage's namespace */
  requestMetrics?: RequestMetrics;
}

/** What Lambda invokes: `(event, responseStream, context)`, the response written to the stream. */
export type GatewayStreamingHandler = StreamifyHandler<APIGatewayProxyEvent, void>;

/**
 * The gateway Lambda: a list of middlewares around {@link GatewayApp}, in Lambda response
 * streaming mode (API Gateway's STREAM transfer mode on every route). `streamingHandler` calls
 * `awslambda.streamifyResponse` here, so the global must exist first: the Lambda runtime defines
 * it; off Lambda, `installAwsLambdaGlobal()` from bin/local/lambdaStreaming.ts does. After the
 * chain, it writes the status and headers as the HTTP prelude, then the body (a string for JSON
 * answers and errors, in one write; a Readable for SSE, piped) to the response stream.
 */
export function createGatewayHandler(deps: GatewayHandlerDeps): GatewayStreamingHandler {
  if (typeof (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda?.streamifyResponse !== 'function') {
    throw new Error(
      'the gateway handler streams its responses and needs the Lambda runtime\'s `awslambda` global; ' +
        'off Lambda, call installAwsLambdaGlobal() from bin/local/lambdaStreaming.ts before creating it',
    );
  }
  const logger = deps.logger ?? createLogger({ serviceName: 'breakwater-gateway', redactor: deps.redactor });
  const metrics = deps.metrics ?? functionMetrics(SERVICES.GATEWAY);
  const clock = deps.clock ?? systemClock;
  const requestMetrics = deps.requestMetrics ?? new RequestMetrics({ metrics: functionMetrics(SERVICES.GATEWAY), clock });
  const app = new GatewayApp({
    config: deps.config,
    secrets: deps.secrets,
    services: deps.services,
    clock,
    random: deps.random ?? systemRandom,
    logger,
    metrics,
    requestMetrics,
    redactor: deps.redactor,
    observer: deps.tracing?.observer,
    onAuthFailure: () => metrics.addMetric('UpstreamAuthFailure', 'Count', 1),
  });

  // A buffered chain; streamingHandler() writes its answer to Lambda's response stream.
  const chain = middy<APIGatewayProxyEvent, GatewayResponse>()
    // First: behind a custom domain's base path (`/llm/v1/...`) everything below sees the API's own path.
    .use(apiPathNormalizer())
    .use(deps.tracing ? [deps.tracing.middleware] : [])
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics(metrics))
    .use(publishMetricsWhenStreamEnds(metrics))
    // Errors in OpenAI's shape, but under /v1/messages in Anthropic's (the Anthropic SDK's error classes).
    // Before the error responder, so it scans the final answer, errors included (Middy runs `after` and `onError` in reverse).
    .use(redactResponses({ redactor: deps.redactor }) as MiddlewareObj<APIGatewayProxyEvent, GatewayResponse>)
    .use(openAiErrorResponder(logger, { shapes: [messagesErrorShape] }) as MiddlewareObj<APIGatewayProxyEvent, GatewayResponse>)
    .use(httpHeaderNormalizer())
    .use(bodySizeLimit({ maxBytes: deps.config.settings.max_body_bytes }))
    // Before the parser: a million nested arrays cost JSON.parse half a second, the scan nothing.
    .use(exceptToolPaths(jsonDepthLimit()))
    // Content-type is not checked: curl users forget it, and the body must be JSON either way.
    // (The option exists in 6.x's code but not yet in its .d.ts, hence the cast.)
    // Not under /v1/tools/: a tool call's body is relayed as the client sent it.
    .use(exceptToolPaths(httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<typeof httpJsonBodyParser>[0])))
    .handler(app.handle);
  return streamingHandler(chain);
}

/** Rewrites `event.path` to {@link apiPath}; `requestContext.path` keeps what the client called (for Location headers). */
function apiPathNormalizer(): MiddlewareObj<APIGatewayProxyEvent, GatewayResponse> {
  return {
    before: (request) => {
      const path = apiPath(request.event);
      if (path !== request.event.path) request.event = { ...request.event, path };
    },
  };
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
