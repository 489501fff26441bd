import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { GatewayApi } from './GatewayApi.js';
import { GatewayFunction } from './GatewayFunction.js';

export interface GatewayStackProps extends StackProps {
  /**
   * Routing config shipped in the Lambda bundle (/var/task/breakwater.config.json).
   * Relative paths resolve against the repo root. Default: <repo>/breakwater.config.json
   */
  readonly configPath?: string;
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /** Lambda memory in MB. Default: 1024 */
  readonly memorySize?: number;
  /** Retention for the function and access log groups. Default: ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** API Gateway stage throttling (requests per second). Default: 100 */
  readonly throttlingRateLimit?: number;
  /** API Gateway stage burst limit. Default: 200 */
  readonly throttlingBurstLimit?: number;
  /** Create the account-level API Gateway CloudWatch role. Default: true */
  readonly apiGatewayCloudWatchRole?: boolean;
}

/** Breakwater: API Gateway REST API -> one Lambda running the gateway. */
export class GatewayStack extends Stack {
  readonly gateway: GatewayFunction;
  readonly api: GatewayApi;

  constructor(scope: Construct, id: string, props: GatewayStackProps = {}) {
    super(scope, id, {
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway (API Gateway + Lambda)',
      ...props,
    });

    this.gateway = new GatewayFunction(this, 'Gateway', {
      entry: props.entry,
      configPath: props.configPath,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
    });

    this.api = new GatewayApi(this, 'Api', {
      handler: this.gateway.function,
      throttlingRateLimit: props.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit,
      accessLogRetention: props.logRetention,
      cloudWatchRole: props.apiGatewayCloudWatchRole,
    });

    new CfnOutput(this, 'GatewayUrl', {
      description: 'Invoke URL of the API stage',
      value: this.api.url,
    });
    new CfnOutput(this, 'OpenAIBaseUrl', {
      description: 'baseURL for OpenAI SDK clients',
      value: this.api.openAiBaseUrl,
    });
    new CfnOutput(this, 'GatewayFunctionName', {
      description: 'Name of the gateway Lambda function',
      value: this.gateway.function.functionName,
    });
  }
}
