import type { MiddlewareObj } from '@middy/core';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { MiddlewareLikeObj } from '@aws-lambda-powertools/commons/types';

/**
 * How X-Ray should record an answer (its segment flags): `fault` is the service's own failure
 * (5xx), `error` a client error (4xx), `throttle` a 429 (an error too, as X-Ray's HTTP
 * instrumentation records it), `ok` anything else.
 */
export const TRACE_OUTCOMES = { OK: 'ok', ERROR: 'error', THROTTLE: 'throttle', FAULT: 'fault' } as const;
export type TraceOutcome = (typeof TRACE_OUTCOMES)[keyof typeof TRACE_OUTCOMES];

export function traceOutcome(status: number | undefined): TraceOutcome {
  if (status === undefined || status >= 500) return TRACE_OUTCOMES.FAULT;
  if (status === 429) return TRACE_OUTCOMES.THROTTLE;
  if (status >= 400) return TRACE_OUTCOMES.ERROR;
  return TRACE_OUTCOMES.OK;
}

/** The parts of Powertools' Tracer this middleware touches. */
export type StatusTracer = Pick<Tracer, 'isTracingEnabled' | 'getSegment'>;

function statusOf(response: unknown): number | undefined {
  const status = (response as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function flag(tracer: StatusTracer, status: number): void {
  const segment = tracer.getSegment();
  if (segment === undefined) return;
  segment.addAnnotation('status', status);
  const outcome = traceOutcome(status);
  if (outcome === TRACE_OUTCOMES.ERROR || outcome === TRACE_OUTCOMES.THROTTLE) segment.addErrorFlag();
  if (outcome === TRACE_OUTCOMES.THROTTLE) segment.addThrottleFlag();
}

/**
 * Wraps Powertools' `captureLambdaHandler` so the handler's segment says what the client got.
 * Its `onError` records every thrown error as a fault with the exception attached; but a
 * refused request (bad body, unknown key, over a cap) is thrown as a GatewayError too and
 * answered 4xx by the error responder, which runs before this middleware's `onError` (Middy runs
 * `onError` in reverse order, and tracing is the outermost middleware). Such an answer is the
 * client's error: flagged `error` (and `throttle` for 429), no exception, no fault, so X-Ray's
 * fault rate and the service map show only the gateway's own failures. A 5xx, or an error no
 * middleware turned into an answer, goes to Powertools' `onError` as before.
 */
export function captureByStatus(inner: MiddlewareLikeObj, tracer: StatusTracer): MiddlewareObj {
  type Request = Parameters<NonNullable<MiddlewareLikeObj['after']>>[0];
  return {
    before: async (request) => {
      await inner.before?.(request as unknown as Request);
    },
    after: async (request) => {
      const status = statusOf(request.response);
      if (status !== undefined && tracer.isTracingEnabled()) flag(tracer, status);
      await inner.after?.(request as unknown as Request);
    },
    onError: async (request) => {
      const status = statusOf(request.response);
      if (traceOutcome(status) === TRACE_OUTCOMES.FAULT) {
        if (status !== undefined && tracer.isTracingEnabled()) tracer.getSegment()?.addAnnotation('status', status);
        await inner.onError?.(request as unknown as Request);
        return;
      }
      if (tracer.isTracingEnabled()) flag(tracer, status!);
      // Powertools' `after` closes the handler segment without recording the error.
      await inner.after?.(request as unknown as Request);
    },
  };
}
