import { Duration } from 'aws-cdk-lib';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createBreakwaterNodejsFunction, requireWhenBundling, type LogLevel } from './BreakwaterNodejsFunction.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_GATEWAY_ENTRY, fromRepoRoot } from './paths.js';

export { BUNDLED_CONFIG_FILE, LAMBDA_TASK_ROOT } from './BreakwaterNodejsFunction.js';

export interface GatewayFunctionProps {
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /**
   * Routing config copied into the bundle as /var/task/breakwater.config.json.
   * Relative paths resolve against the repo root, not the cwd.
   * Default: <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /** Default: 1024 */
  readonly memorySize?: number;
  /**
   * Default: 30 s. API Gateway's integration timeout is 29 s and the gateway's
   * own deadline defaults to 27 s, so the function always answers first.
   */
  readonly timeout?: Duration;
  /** Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Default: INFO */
  readonly logLevel?: LogLevel;
  /** Extra environment variables (merged over the defaults). */
  readonly environment?: Record<string, string>;
  /**
   * Bundle the AWS SDK v3 instead of using the copy in the Lambda runtime.
   * Default: false (the runtime's @aws-sdk/* is used: smaller bundle, faster cold start;
   * @smithy/* helpers are still bundled).
   */
  readonly bundleAwsSdk?: boolean;
}

/** The gateway Lambda: ESM bundle (esbuild), arm64, Node 22, X-Ray active tracing. */
export class GatewayFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly configPath: string;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps = {}) {
    super(scope, id);

    const entry = fromRepoRoot(props.entry ?? DEFAULT_GATEWAY_ENTRY);
    const configPath = fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH);
    this.configPath = configPath;

    requireWhenBundling(
      this,
      configPath,
      `Breakwater routing config not found at ${configPath}; it is copied into the Lambda bundle. ` +
        'Create it or pass the configPath stack prop.',
    );

    const created = createBreakwaterNodejsFunction(this, {
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway',
      entry,
      configPath,
      serviceName: 'breakwater-gateway',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: props.environment,
      bundleAwsSdk: props.bundleAwsSdk,
    });
    this.function = created.function;
    this.logGroup = created.logGroup;
  }
}
