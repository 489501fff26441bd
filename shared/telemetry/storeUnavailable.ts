import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { ENGINE_METRIC_NAMES, METRIC_DIMENSIONS, type StoreName } from './metricNames';

/** What {@link recordStoreUnavailable} needs of Powertools' Metrics. */
export type StoreMetrics = Pick<Metrics, 'singleMetric'>;

/**
 * One `StoreUnavailable` metric on a line of its own, with two dimension sets: `[service]` (the
 * total one alarm watches) and `[service, store]` (which store). The invocation's shared line
 * cannot carry a per-metric dimension, and an outage is rare enough that one extra EMF line per
 * failed call costs nothing.
 */
export function recordStoreUnavailable(metrics: StoreMetrics, store: StoreName): void {
  metrics
    .singleMetric()
    .addDimensions({})
    .addDimensions({ [METRIC_DIMENSIONS.STORE]: store })
    .addMetric(ENGINE_METRIC_NAMES.STORE_UNAVAILABLE, MetricUnit.Count, 1);
}
