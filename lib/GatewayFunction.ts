import { Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BreakwaterNodejsFunction, type BreakwaterFunctionOptions } from './BreakwaterNodejsFunction.js';
import { DEFAULT_GATEWAY_ENTRY } from './paths.js';

export { BUNDLED_CONFIG_FILE, LAMBDA_TASK_ROOT } from './BreakwaterNodejsFunction.js';

export interface GatewayFunctionProps extends BreakwaterFunctionOptions {
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /**
   * Default: 30 s. API Gateway's integration timeout is 29 s and the gateway's
   * own deadline defaults to 27 s, so the function always answers first.
   */
  readonly timeout?: Duration;
}

/** The gateway Lambda: ESM bundle (esbuild), arm64, Node 22, X-Ray active tracing. */
export class GatewayFunction extends BreakwaterNodejsFunction {
  constructor(scope: Construct, id: string, props: GatewayFunctionProps = {}) {
    super(scope, id, props, {
      defaultEntry: DEFAULT_GATEWAY_ENTRY,
      defaultTimeout: Duration.seconds(30),
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway',
      serviceName: 'breakwater-gateway',
    });
  }
}
