import type { MiddlewareObj } from '@middy/core';
import type { AttemptObserver } from '../routing';
import { captureByStatus } from './captureByStatus';
import { tracingAttemptObserver } from './tracing';

export interface Tracing {
  /** Powertools' captureLambdaHandler, client errors kept apart from faults: the invocation's segment. */
  middleware: MiddlewareObj;
  /** A subsegment per upstream attempt. */
  observer: AttemptObserver;
  /** Records an AWS SDK v3 client's calls (DynamoDB, SQS, Secrets Manager) as subsegments. */
  captureClient<T>(client: T): T;
}

/**
 * X-Ray tracing through Powertools' Tracer, loaded only where it records anything: in Lambda
 * with tracing on. The X-Ray SDK switches on async hooks for every promise the moment it is
 * imported (measured: ~0.1 ms of CPU per request on this gateway), so off Lambda, where the
 * Tracer is disabled anyway, it is not imported at all.
 */
export async function loadTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!env.AWS_LAMBDA_FUNCTION_NAME || env.POWERTOOLS_TRACE_ENABLED === 'false') return undefined;
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import('@aws-lambda-powertools/tracer'),
    import('@aws-lambda-powertools/tracer/middleware'),
  ]);
  const tracer = new Tracer({ serviceName });
  return {
    middleware: captureByStatus(captureLambdaHandler(tracer, { captureResponse: false }), tracer),
    observer: tracingAttemptObserver(tracer),
    captureClient: (client) => tracer.captureAWSv3Client(client),
  };
}
