import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { AlarmStatusWidget, Dashboard, GraphWidget, Metric, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { SloAlarms } from './SloAlarms.js';
import type { TaskQueues } from './TaskQueues.js';

/** The functions' own metrics (EMF, Powertools) charted on the dashboard, by widget. */
export const ENGINE_METRICS = {
  breakers: ['BreakerOpened', 'BreakerHalfOpen', 'BreakerClosed'],
  guards: ['RateLimitRejected', 'BudgetAlert80', 'UsageAboveBound'],
  storeUnavailable: ['BreakerStoreUnavailable', 'RateLimitStoreUnavailable'],
} as const;

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
          graph('Circuit breakers', engine(ENGINE_METRICS.breakers)),
          graph('Limits, budgets and store unavailability', engine(ENGINE_METRICS.guards), engine(ENGINE_METRICS.storeUnavailable)),
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
