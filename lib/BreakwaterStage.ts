import { Tags, type Duration, type Environment } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ReleaseStyle } from './CanaryRelease.js';
import { GatewayStack, type GatewayStackProps } from './GatewayStack.js';
import { DEFAULT_CONFIG_PATH, fromRepoRoot } from './paths.js';
import { assertConfigFitForProduction } from './productionConfig.js';
import type { SloTargets } from './SloAlarms.js';
import { StateStack } from './StateStack.js';
import type { Stage } from './stage.js';

/**
 * Reserved concurrency of a production stage unless the context says otherwise: 100 rps of
 * requests lasting up to 27 s could take ~2,700 executions, so the gateway gets a fixed share
 * it cannot exceed (excess requests get a fast 429 at the edge instead of starving the worker),
 * and the worker enough for both queues' event sources (20 + 5) with headroom. 600 + 60 leaves
 * the default 1,000-execution account 340 unreserved (Lambda insists on 100); raise the
 * account quota and these together.
 */
export const PRODUCTION_RESERVED_CONCURRENCY = { gateway: 600, worker: 60 } as const;

export interface BreakwaterStageProps {
  readonly stage: Stage;
  readonly env?: Environment;
  readonly configPath?: string;
  /**
   * Let a production stage deploy a config with `simulated` providers or plain tenant keys
   * (lib/productionConfig.ts), e.g. for a load test.
   * @default false
   */
  readonly allowInsecureConfig?: boolean;
  readonly alarmEmail?: string;
  /** @default 512 (DEFAULT_MEMORY_MB) */
  readonly gatewayMemoryMb?: number;
  /** @default 512 (DEFAULT_MEMORY_MB) */
  readonly workerMemoryMb?: number;
  /** @default {@link PRODUCTION_RESERVED_CONCURRENCY} in production, none elsewhere */
  readonly gatewayReservedConcurrency?: number;
  /** @default {@link PRODUCTION_RESERVED_CONCURRENCY} in production, none elsewhere */
  readonly workerReservedConcurrency?: number;
  readonly slo?: Partial<SloTargets>;
  /** @default 'canary' in production, 'allAtOnce' elsewhere */
  readonly release?: ReleaseStyle;
  readonly wafRateLimitPer5Min?: number | false;
  readonly apiGatewayCloudWatchRole?: boolean;
  readonly logRetention?: RetentionDays;
  readonly workerTimeout?: Duration;
  /** Anything else of the gateway stack (entries, timeouts, throttling, queue concurrency...). */
  readonly gateway?: Partial<Omit<GatewayStackProps, 'state'>>;
}

export interface BreakwaterStacks {
  readonly state: StateStack;
  readonly gateway: GatewayStack;
}

/**
 * One stage of Breakwater: `<prefix>-State` (data, never replaced by a release) and
 * `<prefix>-Gateway` (functions, API, alarms, dashboard), which depends on it. Production
 * stacks get termination protection; every resource gets the stage's tags.
 */
export function addBreakwaterStage(scope: Construct, props: BreakwaterStageProps): BreakwaterStacks {
  const { stage } = props;
  if (stage.production) assertConfigFitForProduction(fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH), props.allowInsecureConfig === true);
  const common = { env: props.env, terminationProtection: stage.production };
  const state = new StateStack(scope, `${stage.stackPrefix}-State`, {
    ...common,
    configPath: props.configPath,
    workerTimeout: props.workerTimeout ?? props.gateway?.workerTimeout,
    secretPrefix: stage.secretPrefix,
    tableNamePrefix: stage.tablePrefix,
    alarmEmail: props.alarmEmail,
  });
  const reserved = stage.production ? PRODUCTION_RESERVED_CONCURRENCY : undefined;
  const gateway = new GatewayStack(scope, `${stage.stackPrefix}-Gateway`, {
    ...common,
    state,
    configPath: props.configPath,
    memorySize: props.gatewayMemoryMb,
    workerMemorySize: props.workerMemoryMb,
    gatewayReservedConcurrency: props.gatewayReservedConcurrency ?? reserved?.gateway,
    workerReservedConcurrency: props.workerReservedConcurrency ?? reserved?.worker,
    workerTimeout: props.workerTimeout,
    logRetention: props.logRetention,
    apiStageName: stage.name,
    restApiName: `breakwater-${stage.name}-gateway`,
    metricsNamespace: stage.metricsNamespace,
    slo: props.slo,
    release: props.release ?? (stage.production ? 'canary' : 'allAtOnce'),
    wafRateLimitPer5Min: props.wafRateLimitPer5Min,
    apiGatewayCloudWatchRole: props.apiGatewayCloudWatchRole,
    // A config pushed later through AppConfig is held to the same rule by the functions.
    refuseInsecureConfig: stage.production && props.allowInsecureConfig !== true,
    ...props.gateway,
  });
  gateway.addStackDependency(state, 'the functions read the tables, queues and secrets');
  for (const stack of [state, gateway]) {
    for (const [key, value] of Object.entries(stage.tags)) Tags.of(stack).add(key, value);
  }
  return { state, gateway };
}
