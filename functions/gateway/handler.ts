import type { CompiledConfig } from '../../shared/config';
import { rebuildOnChange } from '../../shared/config/rebuildOnChange';
import { createServices } from '../../shared/gateway/createServices';
// Straight from the files, not the shared/queue barrel: its other modules import the SQS SDK.
import { lazySqsClient } from '../../shared/queue/lazySqsClient';
import { QUEUE_ENV, taskQueueUrlsFromEnv } from '../../shared/queue/queueEnv';
import { systemClock } from '../../shared/resilience';
import { startFunction } from '../startFunction';
import { createGatewayHandler, type GatewayStreamingHandler } from './createHandler';

// Cold start (config, secrets, tracing, DynamoDB: functions/startFunction.ts). With AppConfig
// delivery on, the config is re-read at most once a minute and the whole handler is rebuilt when
// it changed: a new config needs no redeploy. Off, the bundled file, read once.
const { logger, metrics, secrets, appConfig, initialConfig, tracing, dynamo, tables } = await startFunction('breakwater-gateway');
// Tasks are on wherever the stack (or npm start) gave the gateway its queues.
// A submit's SendMessage is a subsegment of its request's trace, as the worker's calls are.
const queues = process.env[QUEUE_ENV.HIGH_URL] ? { sqs: lazySqsClient({ instrument: tracing?.captureClient }), urls: taskQueueUrlsFromEnv() } : undefined;

function handlerFor(config: CompiledConfig): GatewayStreamingHandler {
  // A new config may name new credentials: warm them as the cold start does.
  if (config !== initialConfig) void secrets.prefetch(config.credentialNames);
  return createGatewayHandler({
    config,
    secrets,
    logger,
    metrics,
    tracing,
    services: createServices({ dynamo, tables, config, clock: systemClock, logger, metrics, secrets, queues }),
  });
}

export const handler: GatewayStreamingHandler = appConfig ? await reloadingHandler(rebuildOnChange(appConfig, handlerFor)) : handlerFor(initialConfig);

/** A streaming handler that serves each invocation with the handler built on the current config. */
async function reloadingHandler(current: () => Promise<GatewayStreamingHandler>): Promise<GatewayStreamingHandler> {
  await current(); // built at cold start, as without AppConfig
  const { awslambda } = globalThis as unknown as { awslambda: { streamifyResponse(handler: GatewayStreamingHandler): GatewayStreamingHandler } };
  return awslambda.streamifyResponse(async (event, responseStream, context) => (await current())(event, responseStream, context));
}
