import { Duration } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData, type IAlarm, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { TaskQueues } from './TaskQueues.js';
import { ENGINE_METRIC_NAMES, SERVICES } from '../shared/telemetry/metricNames.js';

/** The service level the alarms hold the stage to. */
export interface SloTargets {
  /** Share of requests answered without a 5xx, over 5 minutes. @default 0.995 */
  readonly availability: number;
  /** p99 of API Gateway's latency (head to last byte), in ms, over 5 minutes. @default 30_000 */
  readonly latencyP99Ms: number;
  /**
   * Below this many requests in 5 minutes the availability alarm stays quiet: one 5xx in ten
   * requests is noise, not an outage. @default 20
   */
  readonly minRequestsForAvailability: number;
  /** Lambda errors (unhandled, per function) in 5 minutes that count as a failed release. @default 5 */
  readonly functionErrors: number;
  /** Age of the oldest queued task before someone should look, in seconds. @default 900 */
  readonly oldestTaskAgeSeconds: number;
  /**
   * Upstream 429s (ProviderThrottled, gateway and worker) in 5 minutes above which the providers'
   * quotas need raising: a few are absorbed by retries and fallbacks. @default 20
   */
  readonly providerThrottlesPer5Min: number;
  /** Budget alerts (a tenant crossing 80% of a cap) in 5 minutes above which someone is told. @default 0 */
  readonly budgetAlertsPer5Min: number;
  /** Store-unavailable events in 5 minutes above which someone is told. @default 0 */
  readonly storeUnavailablePer5Min: number;
}

export const DEFAULT_SLO_TARGETS: SloTargets = {
  availability: 0.995,
  latencyP99Ms: 30_000,
  minRequestsForAvailability: 20,
  functionErrors: 5,
  oldestTaskAgeSeconds: 900,
  providerThrottlesPer5Min: 20,
  budgetAlertsPer5Min: 0,
  storeUnavailablePer5Min: 0,
};

/** The SLO window: the availability target is stated over 5 minutes. */
const PERIOD = Duration.minutes(5);

export interface SloAlarmsProps {
  readonly topic: ITopic;
  readonly api: RestApi;
  /** The gateway's and the worker's `live` aliases: what callers actually invoke. */
  readonly gateway: IFunction;
  readonly worker: IFunction;
  readonly queues: TaskQueues;
  readonly targets?: Partial<SloTargets>;
  /** Namespace of the functions' own metrics (POWERTOOLS_METRICS_NAMESPACE). @default 'Breakwater' */
  readonly metricsNamespace?: string;
}

/**
 * Alarms on what users feel and what must never pile up, every one notifying the alarm topic.
 * A missing data point is not a breach: no traffic is not an outage. The ones that say a new
 * version is worse than the old (the rollback alarms) also roll a release back.
 */
export class SloAlarms extends Construct {
  readonly availability: Alarm;
  readonly latency: Alarm;
  readonly gatewayErrors: Alarm;
  readonly workerErrors: Alarm;
  readonly all: readonly Alarm[];
  /** What rolls back a gateway release: availability, latency, its errors. */
  readonly gatewayRollbackAlarms: readonly IAlarm[];
  /** What rolls back a worker release: its errors. */
  readonly workerRollbackAlarms: readonly IAlarm[];
  readonly targets: SloTargets;

  constructor(scope: Construct, id: string, props: SloAlarmsProps) {
    super(scope, id);
    const targets = { ...DEFAULT_SLO_TARGETS, ...props.targets };
    if (!(targets.availability > 0 && targets.availability < 1)) throw new Error(`availability target ${targets.availability} must be between 0 and 1`);
    this.targets = targets;
    const alarms: Alarm[] = [];
    const alarm = (alarmId: string, description: string, metric: IMetric, threshold: number, operator = ComparisonOperator.GREATER_THAN_THRESHOLD) => {
      const created = new Alarm(this, alarmId, {
        metric,
        alarmDescription: description,
        threshold,
        comparisonOperator: operator,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(props.topic));
      alarms.push(created);
      return created;
    };

    // Rounded: (1 - 0.995) * 100 is 0.5000000000000004 in floating point.
    const errorBudgetPercent = Number(((1 - targets.availability) * 100).toFixed(6));
    this.availability = alarm(
      'Availability',
      `5xx above ${errorBudgetPercent.toFixed(2)}% of requests over 5 minutes (availability SLO ${targets.availability * 100}%)`,
      new MathExpression({
        expression: `IF(requests >= ${targets.minRequestsForAvailability}, 100 * errors / requests, 0)`,
        usingMetrics: {
          requests: props.api.metricCount({ period: PERIOD }),
          errors: props.api.metricServerError({ period: PERIOD }),
        },
        period: PERIOD,
        label: '5xx %',
      }),
      errorBudgetPercent,
    );
    this.latency = alarm(
      'LatencyP99',
      `p99 latency above ${targets.latencyP99Ms} ms over 5 minutes`,
      props.api.metricLatency({ period: PERIOD, statistic: 'p99' }),
      targets.latencyP99Ms,
    );
    this.gatewayErrors = alarm(
      'GatewayErrors',
      `gateway Lambda errors at or above ${targets.functionErrors} in 5 minutes`,
      props.gateway.metricErrors({ period: PERIOD }),
      targets.functionErrors,
      ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    );
    this.workerErrors = alarm(
      'WorkerErrors',
      `worker Lambda errors at or above ${targets.functionErrors} in 5 minutes`,
      props.worker.metricErrors({ period: PERIOD }),
      targets.functionErrors,
      ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    );
    alarm('GatewayThrottles', 'gateway Lambda throttled (reserved or account concurrency exhausted)', props.gateway.metricThrottles({ period: PERIOD }), 0);
    alarm('WorkerThrottles', 'worker Lambda throttled (reserved or account concurrency exhausted)', props.worker.metricThrottles({ period: PERIOD }), 0);
    for (const [name, priority] of [['High', props.queues.high], ['Normal', props.queues.normal]] as const) {
      alarm(
        `${name}DeadLetters`,
        `a ${name.toLowerCase()}-priority task reached its dead-letter queue (redrive with breakwater dlq)`,
        priority.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        0,
      );
      alarm(
        `${name}OldestTask`,
        `the oldest ${name.toLowerCase()}-priority task has waited over ${targets.oldestTaskAgeSeconds} s`,
        priority.queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
        targets.oldestTaskAgeSeconds,
      );
    }

    // The functions' own metrics (EMF), summed over the gateway and the worker: both run the engine.
    const namespace = props.metricsNamespace ?? 'Breakwater';
    const engineSum = (label: string, metricNames: readonly string[]) => {
      const usingMetrics: Record<string, IMetric> = {};
      metricNames.forEach((metricName, i) =>
        Object.values(SERVICES).forEach((service, j) => {
          usingMetrics[`m${i}s${j}`] = new Metric({ namespace, metricName, dimensionsMap: { service }, statistic: 'Sum', period: PERIOD });
        }),
      );
      // FILL: a service that recorded nothing in the window counts 0, not a missing sum.
      return new MathExpression({ expression: Object.keys(usingMetrics).map((id) => `FILL(${id}, 0)`).join(' + '), usingMetrics, period: PERIOD, label });
    };
    alarm(
      'BudgetAlerts',
      'a tenant or key crossed 80% of a spend cap',
      engineSum('budget alerts', [ENGINE_METRIC_NAMES.BUDGET_ALERT]),
      targets.budgetAlertsPer5Min,
    );
    alarm(
      'ProviderThrottling',
      `upstream providers answered 429 more than ${targets.providerThrottlesPer5Min} times in 5 minutes (raise their quotas or spread the route)`,
      engineSum('provider 429s', [ENGINE_METRIC_NAMES.PROVIDER_THROTTLED]),
      targets.providerThrottlesPer5Min,
    );
    alarm(
      'StoreUnavailable',
      'a state store (keys, spend, idempotency, tasks, breakers, rate limits) could not be reached',
      engineSum('store unavailable', [
        ENGINE_METRIC_NAMES.STORE_UNAVAILABLE,
        ENGINE_METRIC_NAMES.BREAKER_STORE_UNAVAILABLE,
        ENGINE_METRIC_NAMES.RATE_LIMIT_STORE_UNAVAILABLE,
      ]),
      targets.storeUnavailablePer5Min,
    );
    this.all = alarms;
    this.gatewayRollbackAlarms = [this.availability, this.latency, this.gatewayErrors];
    this.workerRollbackAlarms = [this.workerErrors];
  }
}
