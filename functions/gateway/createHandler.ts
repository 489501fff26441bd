import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { CompiledConfig } from '../../shared/config';
import type { SecretSource } from '../../shared/credentials';
import { GatewayApp, type GatewayServices } from '../../shared/gateway';
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

/** The gateway Lambda: a list of middlewares around {@link GatewayApp}. */
export function createGatewayHandler(deps: GatewayHandlerDeps) {
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

  return middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(deps.tracing ? [deps.tracing.middleware] : [])
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishMetrics(metrics))
    .use(openAiErrorResponder(logger))
    .use(httpHeaderNormalizer())
    .use(bodySizeLimit({ maxBytes: deps.config.settings.max_body_bytes }))
    // Content-type is not checked: curl users forget it, and the body must be JSON either way.
    // (The option exists in 6.x's code but not yet in its .d.ts, hence the cast.)
    .use(httpJsonBodyParser({ disableContentTypeCheck: true } as Parameters<typeof httpJsonBodyParser>[0]))
    .handler(app.handle);
}
