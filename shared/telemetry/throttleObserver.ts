import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { AttemptObserver } from '../routing/executeRoute';
import { ENGINE_METRIC_NAMES } from './metricNames';

/**
 * Counts every upstream 429 (`ProviderThrottled`) on the invocation's metrics, around another
 * observer (tracing) if there is one. Per attempt rather than per request: a request that ends
 * in a 503 after three throttled targets is where throttling matters most.
 */
export function throttleCountingObserver(metrics: Pick<Metrics, 'addMetric'>, inner?: AttemptObserver): AttemptObserver {
  return {
    startAttempt(target, model, attempt) {
      const finish = inner?.startAttempt(target, model, attempt);
      return (record) => {
        finish?.(record);
        if (record.status === 429) metrics.addMetric(ENGINE_METRIC_NAMES.PROVIDER_THROTTLED, MetricUnit.Count, 1);
      };
    },
  };
}
