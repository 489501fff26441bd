import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AlarmStatusWidget, Dashboard, GraphWidget, MathExpression, Metric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { SloAlarms } from './SloAlarms.js';
import type { TaskQueues } from './TaskQueues.js';
import { ENGINE_METRIC_NAMES, ERROR_CLASSES, METRIC_DIMENSIONS, REQUEST_METRICS, SERVICES, TASK_METRICS } from '../shared/telemetry/metricNames.js';

/** The functions' own metrics (EMF, Powertools) charted on the dashboard, by widget. */
export const ENGINE_METRICS = {
  breakers: ['BreakerOpened', 'BreakerHalfOpen', 'BreakerClosed'],
  guards: ['RateLimitRejected', 'BudgetAlert80', 'UsageAboveBound'],
  storeUnavailable: ['BreakerStoreUnavailable', 'RateLimitStoreUnavailable', ENGINE_METRIC_NAMES.STORE_UNAVAILABLE],
} as const;

/** The fallback levels charted (`0`, the primary, is the rest of the requests). */
export const FALLBACK_LEVELS = ['1', '2', '3+'] as const;

export interface GatewayDashboardProps {
  readonly dashboardName: string;
  readonly api: RestApi;
  readonly gateway: IFunction;
  readonly worker: IFunction;
  readonly queues: TaskQueues;
  readonly alarms: SloAlarms;
  /** Namespace of the functions' own metrics. */
  readonly metricsNamespace: string;
}

/**
 * One page for the on-call: alarm states first, then what users see (requests, errors,
 * latency percentiles), then why (the functions, the engine's breakers and guards, the queues).
 */
export class GatewayDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: GatewayDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(1);
    const { api, gateway, worker, queues } = props;
    const engine = (names: readonly string[]): IMetric[] =>
      names.map(
        (metricName) =>
          new Metric({
            namespace: props.metricsNamespace,
            metricName,
            dimensionsMap: { service: 'breakwater-gateway' },
            statistic: 'Sum',
            period,
          }),
      );
    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 12, height: 6 });
    // The gateway's per-request metrics (shared/telemetry/requestMetrics.ts), by dimension set.
    const request = (metricName: string, statistic = 'Sum', dimensions: Record<string, string> = {}, label?: string) =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { [METRIC_DIMENSIONS.SERVICE]: SERVICES.GATEWAY, ...dimensions },
        statistic,
        period,
        label,
      });
    const percentiles = (metricName: string) => ['p50', 'p95', 'p99'].map((statistic) => request(metricName, statistic, {}, `${metricName} ${statistic}`));
    const workerMetric = (metricName: string) =>
      new Metric({ namespace: props.metricsNamespace, metricName, dimensionsMap: { [METRIC_DIMENSIONS.SERVICE]: SERVICES.WORKER }, statistic: 'Sum', period });
    // One line per tenant, however many the config has.
    const perTenant = (metricName: string) =>
      new MathExpression({
        expression: `SEARCH('{${props.metricsNamespace},${METRIC_DIMENSIONS.SERVICE},${METRIC_DIMENSIONS.TENANT}} MetricName="${metricName}"', 'Sum', ${period.toSeconds()})`,
        label: metricName,
        period,
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        [new AlarmStatusWidget({ title: 'SLO alarms', alarms: [...props.alarms.all], width: 24, height: 4 })],
        [
          graph('Requests and errors', [api.metricCount({ period })], [api.metricServerError({ period }), api.metricClientError({ period })]),
          graph(
            'Latency (p50 / p95 / p99) and integration p99',
            ['p50', 'p95', 'p99'].map((statistic) => api.metricLatency({ period, statistic })),
            [api.metricIntegrationLatency({ period, statistic: 'p99' })],
          ),
        ],
        [
          graph(
            'Functions: errors and throttles',
            [gateway.metricErrors({ period }), worker.metricErrors({ period })],
            [gateway.metricThrottles({ period }), worker.metricThrottles({ period })],
          ),
          graph('Functions: duration p99', [
            gateway.metricDuration({ period, statistic: 'p99' }),
            worker.metricDuration({ period, statistic: 'p99' }),
          ]),
        ],
        [
          graph(
            'Gateway requests and errors by class',
            [request(REQUEST_METRICS.REQUESTS)],
            Object.values(ERROR_CLASSES).map((outcome) => request(REQUEST_METRICS.ERRORS, 'Sum', { [METRIC_DIMENSIONS.OUTCOME]: outcome }, outcome)),
          ),
          graph('Gateway latency and time to first byte (p50 / p95 / p99, ms)', percentiles(REQUEST_METRICS.LATENCY), percentiles(REQUEST_METRICS.TIME_TO_FIRST_BYTE)),
        ],
        [
          graph(
            'Fallbacks by level, cache hits and attempts',
            FALLBACK_LEVELS.map((level) => request(REQUEST_METRICS.FALLBACKS, 'Sum', { [METRIC_DIMENSIONS.FALLBACK_LEVEL]: level }, `fallback level ${level}`)),
            [request(REQUEST_METRICS.CACHE_HITS), request(REQUEST_METRICS.ATTEMPTS, 'Average', {}, 'attempts per request')],
          ),
          graph(
            'Spend (USD) and tokens, total and by tenant',
            [request(REQUEST_METRICS.SPEND, 'Sum', {}, 'spend (USD)'), workerMetric(REQUEST_METRICS.SPEND).with({ label: 'tasks spend (USD)' }), perTenant(REQUEST_METRICS.SPEND)],
            [request(REQUEST_METRICS.TOKENS, 'Sum', {}, 'tokens'), workerMetric(REQUEST_METRICS.TOKENS).with({ label: 'tasks tokens' })],
          ),
        ],
        [
          graph(
            'Provider throttling (upstream 429s) and tasks',
            [...engine([ENGINE_METRIC_NAMES.PROVIDER_THROTTLED]), workerMetric(ENGINE_METRIC_NAMES.PROVIDER_THROTTLED)],
            [TASK_METRICS.COMPLETED, TASK_METRICS.FAILED, TASK_METRICS.DEAD_LETTER_MOVES].map(workerMetric),
          ),
          graph('Store unavailability (gateway, worker)', engine(ENGINE_METRICS.storeUnavailable), ENGINE_METRICS.storeUnavailable.map(workerMetric)),
        ],
        [
          graph('Circuit breakers', engine(ENGINE_METRICS.breakers)),
          graph('Limits and budgets (gateway, worker)', engine(ENGINE_METRICS.guards), ENGINE_METRICS.guards.map(workerMetric)),
        ],
        [
          graph(
            'Task queues: depth and oldest task (s)',
            [queues.high.queue, queues.normal.queue].map((q) => q.metricApproximateNumberOfMessagesVisible({ period })),
            [queues.high.queue, queues.normal.queue].map((q) => q.metricApproximateAgeOfOldestMessage({ period })),
          ),
          graph(
            'Dead-letter queues',
            [queues.high.deadLetterQueue, queues.normal.deadLetterQueue].map((q) =>
              q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
            ),
          ),
        ],
      ],
    });
  }
}
