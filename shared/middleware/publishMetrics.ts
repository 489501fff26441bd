import type { MiddlewareObj } from '@middy/core';
import type { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * Flushes the invocation's metrics as one EMF line. Powertools' own `logMetrics` does the same
 * but warns "No application metrics to publish" on every invocation that recorded none, which
 * on a healthy gateway is nearly all of them.
 */
export const publishMetrics = (metrics: Pick<Metrics, 'hasStoredMetrics' | 'publishStoredMetrics'>): MiddlewareObj => {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
};
