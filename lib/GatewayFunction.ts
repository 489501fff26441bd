import { Annotations, Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BreakwaterNodejsFunction, type BreakwaterFunctionOptions } from './BreakwaterNodejsFunction.js';
import { gatewayTimeouts, readDeadlineSettings, type GatewayTimeouts } from './gatewayTimeouts.js';
import { DEFAULT_CONFIG_PATH, DEFAULT_GATEWAY_ENTRY, fromRepoRoot } from './paths.js';

export { BUNDLED_CONFIG_FILE, LAMBDA_TASK_ROOT } from './BreakwaterNodejsFunction.js';

export interface GatewayFunctionProps extends BreakwaterFunctionOptions {
  /** Handler entry file. Default: <repo>/functions/gateway/handler.ts */
  readonly entry?: string;
  /**
   * Default: the config's `settings.max_request_ms` + `lambda_margin_ms` + 29 s (5 min 30 s
   * with the defaults), so a request's own deadline always binds before Lambda's. Every route
   * streams its response (API Gateway's STREAM transfer mode), which lifts the 29 s limit of
   * buffered integrations.
   */
  readonly timeout?: Duration;
}

/**
 * The gateway Lambda: ESM bundle (esbuild), arm64, Node 24, X-Ray active tracing, invoked by
 * API Gateway with InvokeWithResponseStream (the handler is a Lambda response-streaming one).
 */
export class GatewayFunction extends BreakwaterNodejsFunction {
  /** The timeouts derived from the bundled config (the integration's is for {@link GatewayApi}). */
  readonly timeouts: GatewayTimeouts;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps = {}) {
    const timeouts = gatewayTimeouts(readDeadlineSettings(fromRepoRoot(props.configPath ?? DEFAULT_CONFIG_PATH)));
    super(scope, id, props, {
      defaultEntry: DEFAULT_GATEWAY_ENTRY,
      defaultTimeout: Duration.millis(timeouts.functionTimeoutMs),
      description: 'Breakwater: OpenAI-compatible resilient LLM gateway',
      serviceName: 'breakwater-gateway',
      // The operator console's page (GET /console), served from the bundle at console/dist/app.js.
      afterBundling: (inputDir, outputDir) => [
        `"${inputDir}/node_modules/.bin/esbuild" "${inputDir}/console/src/main.ts" --bundle --minify --format=esm --target=es2020 --platform=browser --legal-comments=none --outfile="${outputDir}/console/dist/app.js"`,
      ],
    });
    const functionTimeoutMs = this.timeout.toMilliseconds();
    this.timeouts = {
      ...timeouts,
      functionTimeoutMs,
      integrationTimeoutMs: Math.max(timeouts.integrationTimeoutMs, functionTimeoutMs),
    };
    if (functionTimeoutMs <= timeouts.maxRequestMs + timeouts.lambdaMarginMs) {
      Annotations.of(this).addWarningV2(
        '@breakwater/gateway:timeoutBelowDeadline',
        `the gateway timeout (${functionTimeoutMs / 1_000} s) leaves no room for settings.max_request_ms ` +
          `(${timeouts.maxRequestMs} ms) + lambda_margin_ms: Lambda's remaining time, not max_request_ms, will bound requests`,
      );
    }
  }
}
