import { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * A Powertools Metrics instance in the stage's namespace: the stack sets
 * POWERTOOLS_METRICS_NAMESPACE (`Breakwater/<stage>`), and an explicit option would win over it,
 * so it is read here; npm start and tests keep `Breakwater`.
 */
export function functionMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Breakwater', serviceName });
}
